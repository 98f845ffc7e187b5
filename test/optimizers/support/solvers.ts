import GLPK, { type GLPK as Glpk } from 'glpk.js/node';

let glpk: Promise<Glpk> | null = null;
/** One glpk.js instance per test file (wasm load is the slow part). */
export function loadGlpk(): Promise<Glpk> {
  glpk ??= GLPK();
  return glpk;
}
