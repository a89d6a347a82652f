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
    m_temp_created = true;
    MERKQL_ASSIGN_OR_RETURN(auto file, m_env->open_file(tmp, Create::if_missing));
    MERKQL_TRY(file->truncate(0));
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
