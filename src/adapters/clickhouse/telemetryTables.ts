import type { TelemetryTable } from '../../core/ports/telemetrySink';

export type ColumnKind = 'ms' | 'uint' | 'float' | 'string';

export interface TableColumn {
  name: string;
  kind: ColumnKind;
}

/** ClickHouse type per column kind: plain types that 18.16 and current releases share. */
export const COLUMN_TYPES: Record<ColumnKind, string> = {
  // No DateTime64 on 18.16: UTC milliseconds as UInt64.
  ms: 'UInt64',
  uint: 'UInt32',
  float: 'Float64',
  string: 'String',
};

const ms = (name: string): TableColumn => ({ name, kind: 'ms' });
const uint = (name: string): TableColumn => ({ name, kind: 'uint' });
const float = (name: string): TableColumn => ({ name, kind: 'float' });
const str = (name: string): TableColumn => ({ name, kind: 'string' });

/**
 * Column order of every telemetry table. The same list drives the DDL and the TabSeparated
 * encoder, so the two can't drift; the names match the `TelemetryRow` fields.
 */
export const TELEMETRY_TABLES: Record<TelemetryTable, readonly TableColumn[]> = {
  inputs: [
    ms('tsMs'),
    str('siteId'),
    str('topic'),
    str('kind'),
    str('messageId'),
    str('source'),
    str('payload'),
  ],
  meter_values: [ms('tsMs'), str('siteId'), str('evseId'), float('powerKw')],
  frequency: [ms('tsMs'), str('siteId'), str('meterId'), float('hz')],
  decisions: [
    ms('tsMs'),
    str('siteId'),
    str('decisionId'),
    str('trigger'),
    str('solver'),
    float('solveMs'),
    float('objective'),
    float('energyCost'),
    float('shortfallKwh'),
    float('sitePowerKw'),
    float('siteLimitKw'),
    uint('fallback'),
  ],
  setpoints: [
    ms('tsMs'),
    str('siteId'),
    str('stationId'),
    str('evseId'),
    str('sessionId'),
    uint('version'),
    float('limitKw'),
    float('setpointKw'),
    ms('validFromMs'),
    ms('validToMs'),
  ],
  acks: [
    ms('tsMs'),
    str('siteId'),
    str('requestId'),
    str('requestTopic'),
    str('status'),
    float('requestedKw'),
    float('achievedKw'),
    str('reason'),
  ],
  deadletters: [
    ms('tsMs'),
    str('siteId'),
    str('errorCode'),
    str('reason'),
    str('originalTopic'),
    str('originalOffset'),
    str('raw'),
  ],
};

export const TELEMETRY_TABLE_NAMES = Object.keys(TELEMETRY_TABLES) as TelemetryTable[];

/** Sort key per table: queries filter by site and time range. */
export const TABLE_ORDER_BY: Record<TelemetryTable, string> = {
  inputs: '(siteId, tsMs)',
  meter_values: '(siteId, evseId, tsMs)',
  frequency: '(siteId, meterId, tsMs)',
  decisions: '(siteId, tsMs)',
  setpoints: '(siteId, evseId, tsMs)',
  acks: '(siteId, tsMs)',
  deadletters: '(siteId, tsMs)',
};
