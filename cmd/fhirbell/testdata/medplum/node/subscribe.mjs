// The Medplum SDK, with its defaults, against fhirbell: create, search,
// subscribe, and count what reaches each emitter. Prints one JSON line
// per step; the Go test (cmd/fhirbell) drives it and checks the counts.
import { MedplumClient } from '@medplum/core';

const baseUrl = process.env.FHIRBELL_URL;
const token = process.env.FHIRBELL_TOKEN;
const code = process.env.FHIRBELL_CODE || '8867-4';
const events = Number(process.env.FHIRBELL_EVENTS || '3');
const say = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const fail = (msg) => { say({ step: 'fail', msg: String(msg) }); process.exit(1); };
setTimeout(() => fail('timed out'), Number(process.env.FHIRBELL_TIMEOUT_MS || '30000')).unref();

const medplum = new MedplumClient({ baseUrl, verbose: !!process.env.FHIRBELL_VERBOSE });
if (token) {
  // What a Medplum app does with a token it got elsewhere; the SDK then
  // reads its profile from auth/me (for tokens with a login_id claim) and
  // only subscribes once it has one.
  medplum.setAccessToken(token);
  const profile = await medplum.getProfileAsync();
  say({ step: 'profile', profile: profile ? `${profile.resourceType}/${profile.id}` : null });
}

const patient = await medplum.createResource({ resourceType: 'Patient', name: [{ family: 'Medplum', given: ['Node'] }] });
const found = await medplum.searchResources('Patient', { family: 'Medplum' });
say({ step: 'rest', patient: patient.id, found: found.length });

const criteria = `Observation?code=http://loinc.org|${code}`;
const counts = { connect: 0, heartbeat: 0, masterMessage: 0, message: 0, error: 0 };
const numbers = [];
const master = medplum.getMasterSubscriptionEmitter();
master.addEventListener('heartbeat', () => counts.heartbeat++);
master.addEventListener('message', () => counts.masterMessage++);
master.addEventListener('error', (e) => { counts.error++; say({ step: 'error', msg: String(e.payload?.message ?? e.payload) }); });
const emitter = medplum.subscribeToCriteria(criteria);
let wrote = false;
emitter.addEventListener('connect', async (e) => {
  counts.connect++;
  say({ step: 'connect', subscription: e.payload.subscriptionId });
  if (wrote) return;
  wrote = true;
  // Shorten the heartbeat of the Subscription the SDK made (30 s by
  // default) so that heartbeats arrive during the test: they must reach
  // 'heartbeat', never 'message'.
  const sub = await medplum.readResource('Subscription', e.payload.subscriptionId);
  sub.channel.extension = [{ url: 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-heartbeat-period', valueUnsignedInt: 1 }];
  await medplum.updateResource(sub);
  for (let i = 0; i < events; i++) {
    await medplum.createResource({ resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'http://loinc.org', code }] }, subject: { reference: `Patient/${patient.id}` } });
    // One that does not match: it must not reach the emitter.
    await medplum.createResource({ resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '0000-0' }] } });
  }
});
emitter.addEventListener('message', (e) => {
  counts.message++;
  const status = e.payload.entry[0].resource;
  const focus = e.payload.entry[1]?.resource;
  for (const ev of status.notificationEvent ?? []) numbers.push(Number(ev.eventNumber));
  if (status.type !== 'event-notification' || focus?.resourceType !== 'Observation') {
    fail(`message that is not an Observation event: ${JSON.stringify(e.payload).slice(0, 300)}`);
  }
  if (counts.message === events) {
    // Wait for heartbeats (and any stray message), then report.
    setTimeout(() => {
      say({ step: 'done', counts, numbers });
      medplum.getSubscriptionManager().closeWebSocket();
      process.exit(0);
    }, Number(process.env.FHIRBELL_SETTLE_MS || '2500'));
  }
});
