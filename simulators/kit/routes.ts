/**
 * Request routing the simulators share: a table of `METHOD /path/:param` patterns, each naming
 * what the simulator does for it (an operation, a rate-limit group). Path parameters come back
 * URI-decoded, in order; a path whose parameter cannot be decoded matches nothing.
 */
export interface RouteMatch<T> {
  value: T;
  params: string[];
}

export class Routes<T> {
  private readonly table: Array<{ method: string; pattern: RegExp; value: T }> = [];

  /** `path` is literal except for `:name` segments, which match one non-empty segment. */
  add(method: string, path: string, value: T): this {
    const source = path
      .split('/')
      .map((segment) => (segment.startsWith(':') ? '([^/]+)' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('/');
    this.table.push({ method: method.toUpperCase(), pattern: new RegExp(`^${source}$`), value });
    return this;
  }

  match(method: string, path: string): RouteMatch<T> | undefined {
    for (const route of this.table) {
      if (route.method !== method.toUpperCase()) continue;
      const m = route.pattern.exec(path);
      if (!m) continue;
      try {
        return { value: route.value, params: m.slice(1).map((p) => decodeURIComponent(p)) };
      } catch {
        return undefined;
      }
    }
    return undefined;
  }
}
