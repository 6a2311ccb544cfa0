package org.dfq4j.eval.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.Callable;
import org.dfq4j.rewrite.DfqException;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.factory.Nd4j;

/** The thread count reaches every pool ND4J computes with, OpenMP's (oneDNN's) included. */
class BackendTest {

    @Test
    void useThreadsSetsNd4jBlasAndOpenMp() {
        Backend before = Backend.current();
        int master = Nd4j.getEnvironment().maxMasterThreads();
        int blas = Nd4j.factory().blas().getMaxThreads();
        try {
            Backend one = Backend.useThreads(1);
            assertEquals(1, one.threads(), "OpenMP's thread count as the backend reports it");
            assertTrue(one.device().endsWith(", 1 threads") || one.name().equals("CUDA"), one.device());
            assertEquals(1, Nd4j.getEnvironment().maxMasterThreads());
            assertEquals(1, Nd4j.factory().blas().getMaxThreads());
        } finally {
            Backend.useThreads(before.threads());
            Nd4j.getEnvironment().setMaxMasterThreads(master);
            Nd4j.factory().blas().setMaxThreads(blas);
        }
        assertEquals(before.threads(), Backend.current().threads());
        DfqException e = assertThrows(DfqException.class, () -> Backend.useThreads(0));
        assertTrue(e.getMessage().contains("--threads"), e.getMessage());
    }

    @Test
    void sliceWorkersRunSingleThreadedKernelsAndLeaveTheCallersThreads() {
        int caller = Backend.current().threads();
        try (var workers = Backend.sliceWorkers(2)) {
            List<Callable<Integer>> ask = List.of(() -> Backend.current().threads(), () -> Backend.current().threads());
            assertEquals(List.of(1, 1), workers.runAll(ask), "OpenMP's thread count on each worker");
        }
        assertEquals(caller, Backend.current().threads(), "the caller's thread keeps its OpenMP count");
    }
}
