/** Who is signed in and what the server lets them do (GET /api/2.0/keel/whoami). */
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Whoami } from './types';

export const MeContext = createContext<Whoami>({
  user: '',
  role: 'reader',
  auth: false,
  permissions: ['read'],
});

export const useMe = () => useContext(MeContext);
export const useCan = (permission: 'read' | 'write' | 'approve' | 'override') =>
  useMe().permissions.includes(permission);
