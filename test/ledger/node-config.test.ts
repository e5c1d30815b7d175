import { mappingFromConfig, parseTrackingNames } from '../../nodes/ledger/node-config';

describe('ledger node configuration', () => {
  it('turns the journal edit dialog rows into a mapping, skipping empty rows and trimming', () => {
    expect(
      mappingFromConfig({
        defaultRevenueAccount: ' 200 ',
        revenueRates: [
          { rate: '20%', account: '4000' },
          { rate: '', account: '' },
          { rate: 'none', account: '4020' },
        ],
        taxCodes: [
          { code: 'VAT-STD', account: '820', ledgerTaxCode: '20% (VAT on Income)' },
          { code: 'VAT-RED', rate: '0.05', account: '821' },
          { code: '', account: '999' },
        ],
        tenderAccounts: { card: '610', cash: ' ', voucher: '615' },
        roundingAccount: '',
      }),
    ).toEqual({
      revenueAccounts: { '20%': '4000', none: '4020' },
      defaultRevenueAccount: '200',
      taxAccounts: { 'VAT-STD': '820', 'VAT-RED@0.05': '821' },
      ledgerTaxCodes: { 'VAT-STD': '20% (VAT on Income)' },
      tenderAccounts: { card: '610', voucher: '615' },
    });
    expect(mappingFromConfig({})).toEqual({ revenueAccounts: {}, taxAccounts: {}, ledgerTaxCodes: {}, tenderAccounts: {} });
  });

  it('reads tracking category names as key=Name pairs, in order', () => {
    expect(parseTrackingNames('store=Store, channel = Sales channel,bad, =x')).toEqual({ store: 'Store', channel: 'Sales channel' });
    expect(Object.keys(parseTrackingNames('b=B,a=A'))).toEqual(['b', 'a']);
    expect(parseTrackingNames(undefined)).toEqual({});
  });
});
