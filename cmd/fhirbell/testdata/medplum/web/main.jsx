// A Medplum React page as an app would write it: MedplumProvider and
// useSubscription, nothing fhirbell-specific. The Go test
// (cmd/fhirbell/medplum_test.go) loads it in Chromium with
// ?base=<fhirbell>&token=<access token>&code=<LOINC code>, writes
// Observations over REST, and reads the counters below.
import { MedplumClient } from '@medplum/core';
import { MedplumProvider, useMedplumProfile, useSubscription } from '@medplum/react-hooks';
import { StrictMode, useState } from 'react';
import { createRoot } from 'react-dom/client';

const params = new URLSearchParams(window.location.search);
const medplum = new MedplumClient({ baseUrl: params.get('base') });
const code = params.get('code') || '8867-4';
if (params.get('token')) {
  medplum.setAccessToken(params.get('token'));
  medplum.getProfileAsync().catch((err) => console.error(err));
}

// Heartbeats reach the SDK's master emitter, never useSubscription's
// callback; counted here to show they did arrive.
let heartbeats = 0;
medplum.getMasterSubscriptionEmitter().addEventListener('heartbeat', () => {
  heartbeats++;
  document.body.dataset.heartbeats = String(heartbeats);
});

function Feed() {
  const profile = useMedplumProfile();
  const [events, setEvents] = useState([]);
  const [connected, setConnected] = useState('');
  const [errors, setErrors] = useState([]);
  useSubscription(
    `Observation?code=http://loinc.org|${code}`,
    (bundle) => {
      const status = bundle.entry?.[0]?.resource;
      const focus = bundle.entry?.[1]?.resource;
      setEvents((evs) => [
        ...evs,
        { type: status?.type, numbers: (status?.notificationEvent ?? []).map((e) => e.eventNumber).join(','), focus: focus?.resourceType },
      ]);
    },
    {
      onSubscriptionConnect: (id) => setConnected(id),
      onError: (err) => setErrors((e) => [...e, String(err?.message ?? err)]),
    }
  );
  return (
    <main>
      <p data-testid="profile">{profile ? `${profile.resourceType}/${profile.id}` : ''}</p>
      <p data-testid="connected">{connected}</p>
      <p data-testid="count">{events.length}</p>
      <ul>
        {events.map((e, i) => (
          <li key={i} data-testid="event" data-type={e.type} data-focus={e.focus}>
            {e.numbers}
          </li>
        ))}
      </ul>
      <p data-testid="errors">{errors.join('; ')}</p>
    </main>
  );
}

createRoot(document.getElementById('root')).render(
  <StrictMode>
    <MedplumProvider medplum={medplum}>
      <Feed />
    </MedplumProvider>
  </StrictMode>
);
