// Worker threads do not inherit the TypeScript loader: register it, then load the thread's
// TypeScript entry (`workerData.entry`, a file URL). Used for the engine thread and the
// telemetry insert thread.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
