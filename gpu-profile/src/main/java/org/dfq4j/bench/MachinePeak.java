package org.dfq4j.bench;

import org.dfq4j.rewrite.graph.OpKind;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.factory.Nd4j;

/**
 * What this machine's backend can do, measured with two small probes, so that a network's achieved
 * rate can be read against a limit measured in the same run: a float matrix product (the best of
 * BLAS's sgemm and ND4J's matmul op, which is oneDNN's on the CPU backend) and a large array copy.
 *
 * @param gflops  best matrix-product rate, GFLOP/s (2 x M x K x N per product)
 * @param gbytes  best copy rate, GB/s (bytes read plus bytes written)
 * @param method  which probe gave {@code gflops}
 */
public record MachinePeak(double gflops, double gbytes, String method) {

    private static final int N = 1024;
    /** 64 MB a side: twice the last-level cache of the machines this was built on. */
    private static final long COPY_FLOATS = 16L << 20;

    /** Runs the probes: each a few times, best kept (other work on the machine only slows a probe). */
    static MachinePeak measure(int repeats) {
        INDArray a = Nd4j.rand(DataType.FLOAT, N, N);
        INDArray b = Nd4j.rand(DataType.FLOAT, N, N);
        INDArray c = Nd4j.create(DataType.FLOAT, N, N);
        double flops = 2.0 * N * N * N;
        double gemm = best(repeats, () -> Nd4j.gemm(a, b, c, false, false, 1.0, 0.0));
        double matmul = best(repeats, () -> Nd4j.exec(DynamicCustomOp.builder(OpKind.MATMUL.opName()).addInputs(a, b).addOutputs(c).build()));
        INDArray src = Nd4j.rand(DataType.FLOAT, COPY_FLOATS);
        INDArray dst = Nd4j.create(DataType.FLOAT, COPY_FLOATS);
        double copy = best(repeats, () -> dst.assign(src));
        for (INDArray x : new INDArray[] {a, b, c, src, dst}) {
            x.close();
        }
        boolean blas = gemm <= matmul;
        return new MachinePeak(flops / Math.min(gemm, matmul) / 1e9, 2.0 * COPY_FLOATS * 4 / copy / 1e9,
                blas ? "sgemm " + N + "^3 (BLAS)" : "matmul " + N + "^3 (ND4J op)");
    }

    private static double best(int repeats, Runnable r) {
        r.run();
        Nd4j.getExecutioner().commit();
        double best = Double.MAX_VALUE;
        for (int i = 0; i < repeats; i++) {
            long t0 = System.nanoTime();
            r.run();
            Nd4j.getExecutioner().commit();
            best = Math.min(best, (System.nanoTime() - t0) / 1e9);
        }
        return best;
    }
}
