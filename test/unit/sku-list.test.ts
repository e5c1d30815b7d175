/** The one SKU-list rule the stock-reading nodes (Odoo, Business Central) share. */
import fc from 'fast-check';
import { skuList, SkuListError } from '../../nodes/core/sku-list';

describe('skuList: which SKUs a stock read asks for', () => {
  it('every SKU: "*", an empty payload, or an inject timestamp', () => {
    for (const all of ['*', ' * ', '', '   ', undefined, null, 1764806400000, 0, new Date()]) expect(skuList(all)).toBeUndefined();
  });

  it('those SKUs: one, a comma- or newline-separated list, an array, { skus } or { sku }; trimmed, repeats once', () => {
    expect(skuList('SKU-0001')).toEqual(['SKU-0001']);
    expect(skuList(' SKU-1, SKU-2 ,SKU-1\nTEE BLK M\r\n')).toEqual(['SKU-1', 'SKU-2', 'TEE BLK M']);
    expect(skuList([' A ', 'B', 'A'])).toEqual(['A', 'B']);
    expect(skuList({ skus: ['A', 'A', 'B'] })).toEqual(['A', 'B']);
    expect(skuList({ sku: ' X ' })).toEqual(['X']);
    expect(skuList([])).toEqual([]); // an empty list asks for nothing (not everything)
    expect(skuList('all')).toEqual(['all']); // a SKU may be called ALL: only "*" means every SKU
  });

  it('refuses what names no SKU, saying what was sent', () => {
    expect(() => skuList(true)).toThrow(/; got boolean true$/);
    expect(() => skuList({ item: 'A' })).toThrow(/; got an object with keys item$/);
    expect(() => skuList(['A', 3, ''])).toThrow(/the list holds number 3, "", which are not SKUs$/);
    expect(() => skuList(['A', '*'])).toThrow(/the list holds "\*", which is not a SKU$/);
    expect(() => skuList('A, *')).toThrow(SkuListError);
    expect(() => skuList(Number.NaN)).toThrow(SkuListError);
    expect(() => skuList({ skus: 'A' })).toThrow(SkuListError);
  });

  it('property: a list written out with commas reads back as the same SKUs, in order, once each', () => {
    const sku = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._ -]{0,18}[A-Za-z0-9]$/);
    fc.assert(
      fc.property(fc.array(sku, { minLength: 1, maxLength: 20 }), (skus) => {
        const once = [...new Set(skus)];
        expect(skuList(skus.join(', '))).toEqual(once);
        expect(skuList(skus)).toEqual(once);
      }),
    );
  });
});
