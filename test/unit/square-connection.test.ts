/** The Square connection's merchant id: optional, and when given it must look like Square's ids. */
import { squareSettingsFrom } from '../../nodes/square/connection';

const base = { environment: 'sandbox' as const, locationIds: 'L1' };
const creds = { accessToken: 't' };

it('merchant id: trimmed when given, empty when not, and a value that is not an id is a problem named in words', () => {
  expect(squareSettingsFrom({ ...base, merchantId: ' ML82H4QPKMGXY ' }, creds)).toMatchObject({ merchantId: 'ML82H4QPKMGXY', problems: [] });
  expect(squareSettingsFrom(base, creds)).toMatchObject({ merchantId: '', problems: [] });
  expect(squareSettingsFrom({ ...base, merchantId: 'ML 82/H4' }, creds).problems).toEqual(["merchant id 'ML 82/H4' is not like ML82H4QPKMGXY"]);
});
