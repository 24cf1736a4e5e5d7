/** Pages live in the URL's fragment (`#/runs/abc?tab=x`): links and reloads work with one server route. */
import { useEffect, useState } from 'preact/hooks';

export interface Route {
  parts: string[];
  params: URLSearchParams;
}

function current(): Route {
  const hash = location.hash.replace(/^#\/?/, '');
  const [path, search = ''] = hash.split('?');
  return {
    parts: path.split('/').filter(Boolean).map(decodeURIComponent),
    params: new URLSearchParams(search),
  };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(current);
  useEffect(() => {
    const update = () => setRoute(current());
    addEventListener('hashchange', update);
    return () => removeEventListener('hashchange', update);
  }, []);
  return route;
}

/** A fragment link: `href('runs', id)` with optional query parameters. */
export function href(...parts: (string | Record<string, string | undefined>)[]): string {
  const query = parts.find((p): p is Record<string, string | undefined> => typeof p === 'object');
  const path = parts
    .filter((p): p is string => typeof p === 'string')
    .map(encodeURIComponent)
    .join('/');
  const search = query
    ? new URLSearchParams(
        Object.entries(query).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== ''),
      ).toString()
    : '';
  return `#/${path}${search ? `?${search}` : ''}`;
}

export const go = (link: string) => {
  location.hash = link;
};
