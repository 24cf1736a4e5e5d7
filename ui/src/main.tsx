/**
 * Keel's web UI: the shell (navigation, sign-in, who is signed in) and the page the URL's fragment
 * names. Every page reads Keel's REST APIs with the signed-in token; what a role may not do is not
 * offered (whoami's permissions).
 */
import '@picocss/pico/css/pico.min.css';
import './style.css';
import { render } from 'preact';
import { useState } from 'preact/hooks';
import { ApiError, api, getToken, keel, setToken } from './api';
import { ErrorBox, useAsync } from './components/async';
import { MeContext } from './me';
import { CompareRuns } from './pages/compare';
import { FeaturesPage } from './pages/features';
import { ModelPage, ModelsPage } from './pages/models';
import { ModelMonitoring, MonitoringPage } from './pages/monitoring';
import { PipelinesPage } from './pages/pipelines';
import { RunPage } from './pages/run';
import { RunsPage } from './pages/runs';
import { href, useRoute } from './router';
import type { Whoami } from './types';

const PAGES = [
  { path: 'runs', label: 'Runs' },
  { path: 'models', label: 'Models' },
  { path: 'features', label: 'Features' },
  { path: 'pipelines', label: 'Pipelines' },
  { path: 'monitoring', label: 'Monitoring' },
] as const;

function SignIn({ error, onToken }: { error?: Error; onToken: (token: string) => void }) {
  const [token, setValue] = useState('');
  return (
    <main id="main" class="container narrow">
      <h1>Sign in to Keel</h1>
      <p>This server asks for an API token (keel tokens create USER ROLE).</p>
      {error && !(error instanceof ApiError && error.status === 401 && !getToken()) && (
        <ErrorBox error={error} />
      )}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          onToken(token.trim());
        }}
      >
        <label for="token">API token</label>
        <input
          id="token"
          type="password"
          autocomplete="off"
          value={token}
          onInput={(e) => setValue(e.currentTarget.value)}
          required
        />
        <button type="submit">Sign in</button>
      </form>
    </main>
  );
}

function Page() {
  const route = useRoute();
  const [section, id] = route.parts;
  if (section === 'runs' && id) return <RunPage runId={id} />;
  if (section === 'features') return <FeaturesPage />;
  if (section === 'pipelines') return <PipelinesPage />;
  if (section === 'monitoring') return id ? <ModelMonitoring model={id} /> : <MonitoringPage />;
  if (section === 'models') return id ? <ModelPage name={id} /> : <ModelsPage />;
  if (section === 'compare')
    return <CompareRuns ids={(route.params.get('runs') ?? '').split(',').filter(Boolean)} />;
  return <RunsPage params={route.params} />;
}

function App() {
  const [tokenTick, setTokenTick] = useState(0);
  const me = useAsync(() => api<Whoami>(keel('whoami')), [tokenTick]);
  const section = useRoute().parts[0] ?? 'runs';
  const useToken = (token: string | null) => {
    setToken(token);
    setTokenTick((t) => t + 1);
  };
  if (me.error) {
    if (me.error instanceof ApiError && me.error.status === 401)
      return <SignIn error={me.error} onToken={useToken} />;
    return (
      <main id="main" class="container">
        <ErrorBox error={me.error} />
      </main>
    );
  }
  // The page loads its data while whoami answers; until then it offers no action (no permission).
  const who = me.data ?? { user: '', role: '', auth: false, permissions: [] };
  return (
    <MeContext.Provider value={who}>
      {/* A button, not a `#main` link: the fragment holds the page's address. */}
      <button type="button" class="skip" onClick={() => document.getElementById('main')?.focus()}>
        Skip to content
      </button>
      <header class="container">
        <nav aria-label="Main">
          <ul>
            <li>
              <strong>Keel</strong>
            </li>
          </ul>
          <ul>
            {PAGES.map((p) => (
              <li key={p.path}>
                <a
                  href={href(p.path)}
                  aria-current={
                    section === p.path || (p.path === 'runs' && section === 'compare') ? 'page' : undefined
                  }
                >
                  {p.label}
                </a>
              </li>
            ))}
          </ul>
          <ul>
            <li>
              <small>{who.user && `${who.user} (${who.role})`}</small>
            </li>
            {who.auth && (
              <li>
                <button type="button" class="secondary outline small" onClick={() => useToken(null)}>
                  Sign out
                </button>
              </li>
            )}
          </ul>
        </nav>
      </header>
      <main id="main" class="container" tabIndex={-1}>
        <Page />
      </main>
    </MeContext.Provider>
  );
}

render(<App />, document.getElementById('app') as HTMLElement);
