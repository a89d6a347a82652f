// AtomicFile: replaces a small file all at once, durably. Content goes to
// "path.tmp", created afresh (a stale or planted one is removed, never
// written through); commit() syncs it, renames it over path and syncs the
// directory, so a reader sees the old or the new file, never a mix, even after
// power loss. Without commit() the temporary file is removed. Used for topic
// settings, committed group offsets and the directory marker. One thread.
#pragma once

#include <merkql/env.h>

#include <string>

namespace merkql {

class AtomicFile {
public:
  AtomicFile(Env* env, std::string path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(std::string_view data) { m_content.append(data); }
  Status commit();

private:
  Env* m_env;
  std::string m_path;
  std::string m_content;
  bool m_committed = false;
  bool m_temp_created = false;
};

// Writes content to path through an AtomicFile.
Status write_file_atomically(Env* env, const std::string& path, std::string_view content);

} // namespace merkql
