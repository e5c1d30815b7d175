/**
 * `tillwire-canonical`: optionally maps a channel payload to a canonical document with a JSONata
 * expression (Node-RED's own expression engine, with `$minor(value, currency[, ","])` for exact money),
 * then validates it against the chosen canonical schema and the model's business rules, within the
 * node's bounds (nesting depth, lines, quantity, dates around now: canonical-bounds.ts). Valid
 * documents leave on output 1 with the envelope completed; invalid ones leave on output 2 (or go
 * straight to the dead-letter store) with every problem in words: "lines[2].quantity must be > 0".
 */
import type { NodeDef, NodeMessage, NodeRED, RuntimeNode, SendFn } from './node-red';
import { statusTexts, bindStore, onInput, StatusBoard, StoreBinding } from './node-kit';
import { DEFAULT_BOUNDS, isDocumentType, validateDocument, DocumentType, ValidationOptions } from '../model/validate';
import { jsonText, nestedDeeperThan } from '../model/bounds';
import { ensureEnvelope, ENVELOPE_PROPERTY } from '../model/envelope';
import { boundsFromConfig, BoundsConfig } from './canonical-bounds';
import { toMinor } from '../model/money';
import { recordFailure } from '../runtime/dead-letter';

interface CanonicalDef extends NodeDef, BoundsConfig {
  docType: string;
  mapping?: string;
  system?: string;
  eventTopic?: string;
  invalid?: 'output' | 'dead-letter';
  store?: string;
}

export = function register(RED: NodeRED) {
  const t = statusTexts(RED, __filename);
  function TillwireCanonicalNode(this: RuntimeNode, def: CanonicalDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const board = new StatusBoard(node);
    const docType: DocumentType | undefined = isDocumentType(def.docType) ? def.docType : undefined;
    const toDeadLetter = def.invalid === 'dead-letter';
    const binding: StoreBinding | undefined = toDeadLetter ? bindStore(RED, node, def.store, board) : undefined;
    const counts = { valid: 0, invalid: 0 };
    const show = () =>
      board.set({ fill: counts.invalid ? 'yellow' : 'green', shape: 'dot', text: t('status.counts', { valid: counts.valid, invalid: counts.invalid }) });

    let options: ValidationOptions = {};
    let boundsError: string | undefined;
    if (docType) {
      try {
        options = boundsFromConfig(docType, def);
      } catch (err) {
        boundsError = (err as Error).message;
      }
    }
    // A message replayed from the dead-letter store was sent back by a person: its age is no reason
    // to refuse it again (every other rule still holds).
    const replayOptions: ValidationOptions = { ...options, dateWindow: null };

    let mapping: any;
    let mappingError: string | undefined;
    if (def.mapping?.trim()) {
      try {
        mapping = RED.util.prepareJSONataExpression(def.mapping, node);
        // Exact decimal-text to minor-unit conversion inside mappings (never float arithmetic);
        // a third argument "," reads decimal-comma text ("95,00") as EU settlement files write it.
        mapping.registerFunction(
          'minor',
          (value: string | number, currency: string, separator?: string) => {
            if (separator !== undefined && separator !== '.' && separator !== ',')
              throw new Error(`$minor: the decimal separator must be "." or ",", got "${separator}"`);
            return toMinor(value, currency, { decimalSeparator: separator as '.' | ',' | undefined });
          },
          '<(sn)ss?:n>',
        );
      } catch (err) {
        mappingError = `invalid JSONata mapping: ${(err as Error).message}`;
      }
    }
    if (!docType) board.set({ fill: 'red', shape: 'ring', text: t('status.unknownType', { type: String(def.docType) }) });
    else if (mappingError) board.set({ fill: 'red', shape: 'ring', text: t('status.invalidMapping') });
    else if (boundsError) board.set({ fill: 'red', shape: 'ring', text: t('status.invalidBounds') });
    else board.set({ fill: 'grey', shape: 'ring', text: docType });

    function map(msg: NodeMessage): Promise<unknown> {
      if (!mapping) return Promise.resolve(msg.payload);
      return new Promise((resolve, reject) => RED.util.evaluateJSONataExpression(mapping, msg, (err, value) => (err ? reject(err) : resolve(value))));
    }

    async function reject(msg: NodeMessage, send: SendFn, problems: string[], what: string): Promise<void> {
      counts.invalid++;
      show();
      // A payload refused for its nesting leaves as its JSON text: no later node (a clone for a
      // second wire, the dead-letter store's serialisation) then has to walk it recursively.
      if (nestedDeeperThan(msg.payload, options.maxDepth ?? DEFAULT_BOUNDS.maxDepth)) msg.payload = jsonText(msg.payload);
      msg.validationErrors = problems;
      msg.error = {
        message: `${what}: ${problems.join('; ')}`,
        source: { id: node.id, type: node.type, name: node.name ?? '' },
      };
      if (!binding) {
        send([null, msg]);
        return;
      }
      const store = await binding.acquire();
      await recordFailure(store, msg, {
        error: { message: msg.error.message, name: 'ValidationError', source: msg.error.source },
        flowId: node.z ?? null,
        nodeId: node.id,
        nodeType: node.type,
        nodeName: node.name ?? null,
      });
    }

    onInput(node, async (msg: NodeMessage, send: SendFn) => {
      if (!docType) throw new Error(`canonical: unknown document type '${def.docType}'`);
      if (mappingError) throw new Error(`canonical: ${mappingError}`);
      if (boundsError) throw new Error(`canonical: ${boundsError}`);
      let doc: unknown;
      try {
        doc = await map(msg);
      } catch (err) {
        const e = err as Error & { position?: number };
        return reject(msg, send, [e.message + (e.position ? ` (at character ${e.position})` : '')], `${docType} mapping failed`);
      }
      const replayed = typeof msg[ENVELOPE_PROPERTY]?.deadLetterId === 'string';
      const result = validateDocument(docType, doc, replayed ? replayOptions : options);
      if (!result.valid) return reject(msg, send, result.errors, `${docType} failed validation`);
      msg.payload = doc;
      ensureEnvelope(msg, doc as Record<string, unknown>, def.system?.trim() || 'unknown');
      if (def.eventTopic?.trim()) msg.topic = def.eventTopic.trim();
      counts.valid++;
      show();
      send([msg, null]);
    });
  }
  RED.nodes.registerType('tillwire-canonical', TillwireCanonicalNode);
};
