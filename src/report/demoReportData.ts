/**
 * Everything the demo report shows, as plain JSON-friendly data: the demo runner fills it
 * from the engine's outputs and writes it as report.json; renderDemoReport turns it into HTML.
 */
export interface DemoSummary {
  siteId: string;
  seed: number;
  startMs: number;
  endMs: number;
  evseCount: number;
  sessions: number;
  /** Sum of the sessions' energy targets at arrival. */
  energyRequestedKwh: number;
  /** Net energy into the EVs (charge minus discharge). */
  energyDeliveredKwh: number;
  /** Energy fed back by V2G; 0 without discharge. */
  energyDischargedKwh?: number;
  /** Sessions that reached their target by departure. */
  sessionsMet?: number;
  peakKw: number;
  /** The static site import limit (DSO variations lower it for their window). */
  siteLimitKw: number;
  /** Setpoint sets (or samples) in which some node limit was exceeded; must be 0. */
  limitViolations: number;
  /** Dead-letter count by error code. */
  deadLetters: Record<string, number>;
  costEur: number;
  plannerSolves: number;
  /** Solves that fell back to the safe placeholder policy. */
  fallbacks: number;
  inputMessages?: number;
  setpointMessages?: number;
  acks?: number;
  /** Wall-clock time the simulated run took. */
  runMs?: number;
}

export interface SitePowerSeries {
  tsMs: number[];
  sitePowerKw: number[];
  /** Effective import limit at each time (static limit, lowered by DSO variations). */
  siteLimitKw: number[];
  /** Optional comparison: what uncontrolled charging would have drawn. */
  uncontrolledKw?: number[];
}

export interface PriceSeries {
  tsMs: number[];
  importPricePerKwh: number[];
  exportPricePerKwh: number[];
  currency?: string;
}

export interface SocTrajectory {
  sessionId: string;
  evseId?: string;
  tsMs: number[];
  socPct: number[];
  /** SoC the session's energy target corresponds to, if known. */
  targetSocPct?: number;
  v2gAllowed?: boolean;
}

export interface FrequencySeries {
  tsMs: number[];
  hz: number[];
  /** Site power change answering the deviation (negative = consume less), same timestamps. */
  responseKw?: number[];
}

export interface SessionRow {
  sessionId: string;
  evseId: string;
  arrivalMs: number;
  departureMs: number;
  requestedKwh: number;
  deliveredKwh: number;
  v2gAllowed?: boolean;
}

export interface DeadLetterSample {
  errorCode: string;
  topic: string;
  reason: string;
}

export interface DemoReportData {
  title?: string;
  summary: DemoSummary;
  sitePower: SitePowerSeries;
  prices: PriceSeries;
  socTrajectories: SocTrajectory[];
  frequency?: FrequencySeries;
  sessions?: SessionRow[];
  deadLetterSamples?: DeadLetterSample[];
  /** Free-form notes shown at the end (e.g. which planner ran). */
  notes?: string[];
}
