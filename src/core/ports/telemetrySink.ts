/**
 * Port for telemetry (ClickHouse in production). `record` must never block or throw on
 * the control path: implementations buffer, batch, and drop with a counted metric when full.
 */
export type TelemetryRow =
  | {
      table: 'inputs';
      tsMs: number;
      siteId: string;
      topic: string;
      kind: string;
      messageId: string;
      source: string;
      payload: string;
    }
  | { table: 'meter_values'; tsMs: number; siteId: string; evseId: string; powerKw: number }
  | { table: 'frequency'; tsMs: number; siteId: string; meterId: string; hz: number }
  | {
      table: 'decisions';
      tsMs: number;
      siteId: string;
      decisionId: string;
      trigger: string;
      solver: string;
      solveMs: number;
      objective: number;
      energyCost: number;
      shortfallKwh: number;
      sitePowerKw: number;
      siteLimitKw: number;
      fallback: number;
    }
  | {
      table: 'setpoints';
      tsMs: number;
      siteId: string;
      stationId: string;
      evseId: string;
      sessionId: string;
      version: number;
      limitKw: number;
      setpointKw: number;
      validFromMs: number;
      validToMs: number;
    }
  | {
      table: 'acks';
      tsMs: number;
      siteId: string;
      requestId: string;
      requestTopic: string;
      status: string;
      requestedKw: number;
      achievedKw: number;
      reason: string;
    }
  | {
      table: 'deadletters';
      tsMs: number;
      siteId: string;
      errorCode: string;
      reason: string;
      originalTopic: string;
      originalOffset: string;
      raw: string;
    };

export type TelemetryTable = TelemetryRow['table'];

export interface TelemetryStats {
  rowsAccepted: number;
  rowsWritten: number;
  rowsDropped: number;
  rowsBuffered: number;
  insertErrors: number;
}

export interface TelemetrySink {
  record(row: TelemetryRow): void;
  flush(): Promise<void>;
  close(): Promise<void>;
  stats(): TelemetryStats;
}
