import { mappingFromConfig, parseTrackingNames, settlementMappingFromConfig } from '../../nodes/ledger/node-config';
import { mappingProblems } from '../../nodes/ledger/settlement-mapping';

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

describe('settlement accounts dialog', () => {
  it('turns the dialog rows into a mapping: trimmed, empty rows and fields left out', () => {
    const mapping = settlementMappingFromConfig({
      bankAccount: ' 1000 ',
      suspenseAccount: '1299',
      payableAccount: '',
      accounts: [{ key: 'fee/commission', account: ' 6000' }, { key: 'principal', account: '4000' }, { key: '', account: '' }, { key: 'tax' }],
      taxCodes: [
        { key: 'tax', code: 'TAX-US' },
        { key: 'fee', code: '' },
      ],
      trackChannel: 'amazon',
      trackBrand: ' Northwind ',
      trackStore: '',
    });
    expect(mapping).toEqual({
      accounts: { 'fee/commission': '6000', principal: '4000' },
      bankAccount: '1000',
      suspenseAccount: '1299',
      tracking: { channel: 'amazon', brand: 'Northwind' },
      taxCodes: { tax: 'TAX-US' },
    });
    expect(mappingProblems(mapping)).toEqual([]);
  });

  it('a dialog without a bank account or with a key that is no line type is named by mappingProblems', () => {
    const mapping = settlementMappingFromConfig({ accounts: [{ key: 'fees', account: '6000' }] });
    expect(mappingProblems(mapping)).toEqual([
      "accounts key 'fees' does not start with a line type (principal, tax, shipping, fee, promotion, refund, reserve, adjustment, other)",
      'bankAccount is missing: the account the payout is paid into',
    ]);
  });
});
