// Constants of the on-disk formats, shared by writers and readers.
// See docs/FORMAT.md for the meaning of every field.
#pragma once

#include <merkql/options.h>

#include <cstdint>

namespace merkql::format {

// The tree stores nodes of height >= k_chunk_height; a chunk is the perfect
// subtree of 2^k_chunk_height records starting at a multiple of that size.
constexpr uint32_t k_chunk_height = 6;
constexpr uint64_t k_chunk_records = uint64_t{1} << k_chunk_height;

// Log block header (§Segment).
constexpr uint32_t k_block_header_size = 36;
constexpr uint16_t k_block_magic = 0x4b4d;         // "MK"
constexpr uint8_t k_block_flag_batch_end = 0x01;   // last block of its batch
constexpr uint8_t k_block_flag_json_values = 0x02; // every value is one-line JSON text
constexpr uint8_t k_block_known_flags = k_block_flag_batch_end | k_block_flag_json_values;
constexpr uint32_t k_max_block_stored_size = 1u << 30;
// Records in one block, at most: bounds what decoding one block holds in
// memory (a view per record) whatever a header claims. Writers cut blocks
// far below it (128 KiB of records by default).
constexpr uint32_t k_max_block_records = 1u << 20;
// A record's key plus value, at most: merkql::k_max_record_bytes (options.h,
// a limit users see).
// The encoded blocks of one batch, at most: a batch fits in a segment, and
// INDEX positions fit in 32 bits (§Index).
constexpr uint64_t k_max_batch_bytes = 1ull << 30;
// Segment sizes, and the highest segment number an 8-digit name holds.
constexpr uint64_t k_min_segment_bytes = 4096;
constexpr uint64_t k_max_segment_bytes = 1ull << 30;
constexpr uint32_t k_max_segment = 99999999;
// Partitions of one topic, at most.
constexpr uint32_t k_max_partitions = 100000;

// HEAD (§Head): two slots, the valid one with the higher sequence wins.
constexpr uint32_t k_head_magic = 0x4448514d; // "MQHD"
constexpr uint32_t k_head_slot_size = 256;
// Where a slot holds log_start (0 in slots written before it existed).
constexpr uint32_t k_head_log_start_position = 240;

// INDEX and TREE (§Index, §Tree): a 16-byte header, then fixed-size entries.
constexpr uint32_t k_index_magic = 0x5849514d; // "MQIX"
constexpr uint32_t k_tree_magic = 0x5254514d;  // "MQTR"
constexpr uint32_t k_file_header_size = 16;
constexpr uint32_t k_index_entry_size = 8;
constexpr uint32_t k_tree_node_size = 32;

// TOPIC (§Topic) and OFFSETS (§Group offsets).
constexpr uint32_t k_topic_magic = 0x5054514d;   // "MQTP"
constexpr uint32_t k_offsets_magic = 0x4f47514d; // "MQGO"

constexpr uint32_t k_format_version = 1;
// TOPIC is version 1 (36 bytes) unless it holds a byte or age retention,
// then version 2 (52 bytes).
constexpr uint32_t k_topic_version_bytes_age = 2;
constexpr uint64_t k_topic_file_size_v1 = 36;
constexpr uint64_t k_topic_file_size_v2 = 52;

// TREE and INDEX are made durable whenever the count of complete chunks
// crosses a multiple of this, bounding recovery work after power loss.
constexpr uint64_t k_tree_sync_chunks = 1024;

} // namespace merkql::format
