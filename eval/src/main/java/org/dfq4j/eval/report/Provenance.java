package org.dfq4j.eval.report;

/**
 * Where a result comes from, the first keys of every evaluation report.
 *
 * @param model         the evaluated model's name
 * @param dataset       where the photographs came from
 * @param preprocessing the canonical preprocessing spec
 * @param batchSize     photographs per forward pass
 * @param images        photographs evaluated
 */
public record Provenance(String model, String dataset, String preprocessing, int batchSize, int images) {
}
