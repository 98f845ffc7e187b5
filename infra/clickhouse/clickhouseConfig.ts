import { join } from 'node:path';

export interface ClickHouseConfigPaths {
  dataDir: string;
  httpPort: number;
  tcpPort: number;
}

/**
 * The server config the project owns: every path inside `dataDir`, ports on loopback only.
 * Only settings that Debian's 18.16 and current releases both understand; the root tag
 * `<yandex>` is still accepted by current releases.
 */
export function renderClickHouseConfig({ dataDir, httpPort, tcpPort }: ClickHouseConfigPaths): string {
  const dir = (sub: string) => `${join(dataDir, sub)}/`;
  return `<?xml version="1.0"?>
<yandex>
  <logger>
    <level>information</level>
    <log>${join(dataDir, 'logs', 'clickhouse-server.log')}</log>
    <errorlog>${join(dataDir, 'logs', 'clickhouse-server.err.log')}</errorlog>
    <size>100M</size>
    <count>2</count>
  </logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>${httpPort}</http_port>
  <tcp_port>${tcpPort}</tcp_port>
  <max_connections>256</max_connections>
  <keep_alive_timeout>10</keep_alive_timeout>
  <max_concurrent_queries>100</max_concurrent_queries>
  <uncompressed_cache_size>268435456</uncompressed_cache_size>
  <mark_cache_size>268435456</mark_cache_size>
  <path>${dir('data')}</path>
  <tmp_path>${dir('tmp')}</tmp_path>
  <user_files_path>${dir('user_files')}</user_files_path>
  <format_schema_path>${dir('format_schemas')}</format_schema_path>
  <users_config>${join(dataDir, 'users.xml')}</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mlock_executable>false</mlock_executable>
  <!-- idle keep-alive connections otherwise hold a SIGTERM shutdown for 5 s -->
  <shutdown_wait_unfinished>1</shutdown_wait_unfinished>
</yandex>
`;
}

/** One passwordless `default` user reachable from loopback only. */
export function renderClickHouseUsers(): string {
  return `<?xml version="1.0"?>
<yandex>
  <profiles>
    <default>
      <max_memory_usage>4000000000</max_memory_usage>
    </default>
  </profiles>
  <users>
    <default>
      <password></password>
      <networks>
        <ip>::1</ip>
        <ip>127.0.0.1</ip>
      </networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
  </users>
  <quotas>
    <default>
      <interval>
        <duration>3600</duration>
        <queries>0</queries>
        <errors>0</errors>
        <result_rows>0</result_rows>
        <read_rows>0</read_rows>
        <execution_time>0</execution_time>
      </interval>
    </default>
  </quotas>
</yandex>
`;
}
