/** Loading state for one request at a time: a stale answer never overwrites a newer one. */
import { useEffect, useState } from 'preact/hooks';
import { ApiError } from '../api';

export interface Async<T> {
  data?: T;
  error?: Error;
  loading: boolean;
  reload: () => void;
}

export function useAsync<T>(load: () => Promise<T>, deps: readonly unknown[]): Async<T> {
  const [state, setState] = useState<{ data?: T; error?: Error; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let current = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => current && setState({ data, loading: false }),
      (error: Error) => current && setState({ error, loading: false }),
    );
    return () => {
      current = false;
    };
  }, [...deps, tick]);
  return { ...state, reload: () => setTick((t) => t + 1) };
}

export function ErrorBox({ error }: { error: Error }) {
  const code = error instanceof ApiError ? ` (${error.status} ${error.code})` : '';
  return (
    <p role="alert" class="error">
      {error.message}
      {code}
    </p>
  );
}

/** Shows the error, a busy line while nothing has loaded yet, or the content. */
export function Loaded<T>({
  state,
  children,
}: {
  state: Async<T>;
  children: (data: T) => preact.ComponentChildren;
}) {
  if (state.error) return <ErrorBox error={state.error} />;
  if (state.data === undefined) return <p aria-busy="true">Loading…</p>;
  return <>{children(state.data)}</>;
}
