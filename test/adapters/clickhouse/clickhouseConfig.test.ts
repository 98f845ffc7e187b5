import { describe, expect, it } from 'vitest';
import { renderClickHouseConfig, renderClickHouseUsers } from '../../../infra/clickhouse/clickhouseConfig';

describe('project-owned ClickHouse config', () => {
  const xml = renderClickHouseConfig({ dataDir: '/tmp/evflex-ch-x', httpPort: 18123, tcpPort: 19000 });

  it('listens on loopback only, on the given ports', () => {
    expect([...xml.matchAll(/<listen_host>([^<]*)<\/listen_host>/g)].map((m) => m[1])).toEqual(['127.0.0.1']);
    expect(xml).toContain('<http_port>18123</http_port>');
    expect(xml).toContain('<tcp_port>19000</tcp_port>');
    // No other listeners (interserver, TLS, MySQL/PostgreSQL protocols).
    expect(xml).not.toMatch(/interserver_http_port|https_port|tcp_port_secure|mysql_port|postgresql_port/);
  });

  it('keeps every path inside the data dir', () => {
    const paths = [
      ...xml.matchAll(
        /<(path|tmp_path|user_files_path|format_schema_path|users_config|log|errorlog)>([^<]*)</g,
      ),
    ].map((m) => m[2]);
    expect(paths).toHaveLength(7);
    for (const p of paths) expect(p.startsWith('/tmp/evflex-ch-x/')).toBe(true);
  });

  it('lets the default user in from loopback only', () => {
    const users = renderClickHouseUsers();
    expect([...users.matchAll(/<ip>([^<]*)<\/ip>/g)].map((m) => m[1])).toEqual(['::1', '127.0.0.1']);
  });
});
