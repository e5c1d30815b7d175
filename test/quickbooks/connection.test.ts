/** The QuickBooks company settings: each wrong setting named; a good one posts through the shared client. */
import { openConnection, settingsProblem } from '../../nodes/quickbooks/connection';
import { QboSimulator } from '../../simulators/quickbooks/simulator';
import { FAST, journal, startSimulator } from './support';

let sim: QboSimulator;
afterEach(async () => {
  await sim?.stop();
});

const good = { environment: 'production', realmId: '9130355377000001', homeCurrency: 'USD', clientId: 'id', clientSecret: 'secret', refreshToken: 'rt' };

describe('QuickBooks connection settings', () => {
  it('names what is wrong', () => {
    expect(settingsProblem(good)).toBeUndefined();
    expect(settingsProblem({ ...good, environment: 'staging' })).toMatch(/environment/);
    expect(settingsProblem({ ...good, environment: 'custom' })).toMatch(/URLs/);
    expect(settingsProblem({ ...good, realmId: "1' or 1=1" })).toMatch(/realm/);
    expect(settingsProblem({ ...good, homeCurrency: 'XXX' })).toMatch(/currency/);
    expect(settingsProblem({ ...good, clientSecret: '' })).toMatch(/client secret/);
    expect(settingsProblem({ ...good, refreshToken: undefined })).toMatch(/refresh token/);
    const refused = openConnection({ ...good, realmId: '' }, undefined);
    expect([refused.problem, refused.client, refused.poster]).toEqual([expect.stringMatching(/realm/), undefined, undefined]);
  });

  it('opens a custom environment (the simulator) and posts through it, persisting the rotated refresh token', async () => {
    sim = await startSimulator();
    const saved: string[] = [];
    const conn = openConnection(
      {
        ...good,
        environment: 'custom',
        baseUrl: sim.url,
        tokenUrl: sim.tokenUrl,
        realmId: sim.realmId,
        clientId: sim.clientId,
        clientSecret: sim.clientSecret,
        refreshToken: sim.currentRefreshToken,
      },
      (t) => void saved.push(t),
      { client: { policy: FAST } },
    );
    expect(conn.problem).toBeUndefined();
    expect(await conn.poster!.post(journal('CONN-1'))).toMatchObject({ status: 'posted' });
    expect(saved).toEqual([sim.currentRefreshToken]);
  });
});
