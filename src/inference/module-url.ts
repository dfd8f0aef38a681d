/**
 * Worker and task entry points must load both from dist/ (compiled .js) and from src/ under tap's
 * TypeScript loader (.ts). A sibling module is resolved with the caller's own extension, and the
 * worker inherits process.execArgv (the default), so the same loader compiles it.
 */
export function siblingModule(callerUrl: string, basename: string): URL {
  const extension = new URL(callerUrl).pathname.endsWith('.ts') ? '.ts' : '.js';
  return new URL(`./${basename}${extension}`, callerUrl);
}
