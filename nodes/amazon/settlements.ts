/**
 * Amazon settlements through the Reports API: the settlement reports Amazon has finished
 * (getReports, DONE, created since a time), and one report opened as a SettlementStream (its
 * document located, downloaded as a stream, decompressed and read row by row). No Node-RED import.
 */
import type { AmazonClient, AmazonReport } from './client';
import { SETTLEMENT_REPORT_TYPE } from './contract';
import { readSettlementReport, type ReadSettlementOptions, type SettlementReportStream } from './settlement-report';

/** Finished settlement reports created at or after `createdSince`, every page. */
export function settlementReports(
  client: AmazonClient,
  q: { createdSince?: string; marketplaceIds?: string[]; pageSize?: number } = {},
): AsyncGenerator<AmazonReport> {
  return client.listReports({ reportTypes: [SETTLEMENT_REPORT_TYPE], processingStatuses: ['DONE'], ...q });
}

/** One settlement report as a stream of canonical lines (the header read before this resolves). */
export async function openSettlementReport(
  client: AmazonClient,
  report: Pick<AmazonReport, 'reportId' | 'reportDocumentId' | 'createdTime'>,
  opts: Omit<ReadSettlementOptions, 'compression' | 'reportId' | 'issuedAt'>,
): Promise<SettlementReportStream> {
  if (!report.reportDocumentId) throw new Error(`settlement report ${report.reportId} has no document yet (not DONE)`);
  const doc = await client.getReportDocument(report.reportDocumentId);
  const body = await client.downloadReportDocument(doc);
  return readSettlementReport(body, { ...opts, compression: doc.compressionAlgorithm, reportId: report.reportId, issuedAt: report.createdTime });
}
