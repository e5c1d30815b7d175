import { validateDocument } from '../../nodes/model/validate';

function nested(depth: number): unknown {
  let v: unknown = 'bottom';
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
}

it('a sale nested 100,000 levels deep is rejected, not a stack overflow', () => {
  const r = validateDocument('sale', { kind: 'sale', attributes: nested(100_000) });
  expect(r.valid).toBe(false);
});
