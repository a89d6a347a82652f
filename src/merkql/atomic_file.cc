#include <merkql/atomic_file.h>
#include <merkql/filename.h>

namespace merkql {

namespace {
std::string parent_dir(const std::string& path)
{
  auto slash = path.rfind('/');
  return slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
}
} // namespace

AtomicFile::AtomicFile(Env* env, std::string path) : m_env(env), m_path(std::move(path)) {}

AtomicFile::~AtomicFile()
{
  if (m_temp_created && !m_committed) {
    (void)m_env->remove(temp_file(m_path));
  }
}

Status AtomicFile::commit()
{
  const std::string tmp = temp_file(m_path);
  {
    // A temporary file left by a crash, or planted (a symbolic link to a file
    // elsewhere, say), is removed, never opened: the new one is created with
    // O_EXCL, so nothing but a fresh regular file is written.
    if (m_env->exists(tmp)) {
      MERKQL_TRY(m_env->remove(tmp));
    }
    MERKQL_ASSIGN_OR_RETURN(auto file, m_env->open_file(tmp, Create::exclusive));
    m_temp_created = true;
    MERKQL_TRY(file->write_at(0, m_content));
    MERKQL_TRY(file->sync());
  }
  MERKQL_TRY(m_env->rename(tmp, m_path));
  m_committed = true;
  return m_env->sync_dir(parent_dir(m_path));
}

Status write_file_atomically(Env* env, const std::string& path, std::string_view content)
{
  AtomicFile file(env, path);
  file.write(content);
  return file.commit();
}

} // namespace merkql
