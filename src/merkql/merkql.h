// The whole public API in one include.
#pragma once

#include <merkql/admin.h>
#include <merkql/broker.h>
#include <merkql/consistency.h>
#include <merkql/consumer.h>
#include <merkql/forward.h>
#include <merkql/group.h>
#include <merkql/json_text.h>
#include <merkql/merkle.h>
#include <merkql/note.h>
#include <merkql/options.h>
#include <merkql/partition.h>
#include <merkql/producer.h>
#include <merkql/proof.h>
#include <merkql/record.h>
#include <merkql/sha256.h>
#include <merkql/status.h>
