package org.dfq4j.cli;

import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import org.dfq4j.eval.runtime.Backend;
import org.dfq4j.rewrite.Calibration;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.DfqRecipe;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.TensorRange;
import org.dfq4j.rewrite.quant.RangeSpec;
import org.dfq4j.rewrite.view.GraphView;
import org.dfq4j.zoo.mobilenet.MobileNetV2Builder;
import org.dfq4j.zoo.mobilenet.SyntheticImages;
import org.nd4j.linalg.api.ndarray.INDArray;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code dfq demo}: the whole pipeline with no files. A generated MobileNetV2-like network that behaves
 * like a trained one under quantization ({@link MobileNetV2Builder#trainedLike}: BatchNorm and ReLU6,
 * contractive, folded per-channel weight ranges spread over three decades) is quantized row by row as
 * in the reference table, and each row's FP32, W8 and W8A8 outputs are compared with the original
 * FP32 outputs on generated images: logit SQNR in dB and top-1 agreement.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Run the DFQ table on a generated MobileNetV2-like network that quantizes like a trained one, "
                + "with generated inputs (no files needed).")
final class DemoCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--count", paramLabel = "N", defaultValue = "32", description = "generated images (default: ${DEFAULT-VALUE})")
    int count;

    @Option(names = "--width", paramLabel = "W", defaultValue = "0.5", description = "width multiplier (default: ${DEFAULT-VALUE})")
    double width;

    @Option(names = "--resolution", paramLabel = "PX", defaultValue = "96", description = "input size (default: ${DEFAULT-VALUE})")
    int resolution;

    @Option(names = "--seed", defaultValue = "42", description = "weights and images seed (default: ${DEFAULT-VALUE})")
    long seed;

    @Mixin
    QuantOptions quant;

    @Mixin
    RunOptions run;

    @Mixin
    TableOutput output;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        if (count < 1) {
            throw new DfqException("--count must be at least 1, got " + count);
        }
        Backend backend = run.apply();
        output.declare(output.force.plan()).check();
        out.println(backend.describe());
        out.printf("building a MobileNetV2-like network (width %.2f, %dx%d, seed %d) with calibrated BatchNorm and "
                + "folded weight ranges as unbalanced as a trained one's...%n",
                width, resolution, resolution, seed);
        out.flush();
        long t0 = System.nanoTime();
        Network net = MobileNetV2Builder.trainedLike(width, resolution, 1000, seed);
        INDArray images = SyntheticImages.generate(count, 3, resolution, resolution, seed + 1);
        out.printf("built in %.1f s: %d ops, %,d parameters; %d generated images in [-1, 1]%n",
                (System.nanoTime() - t0) / 1e9, GraphView.of(net).ops().size(), net.parameterCount(), count);
        out.println("columns: SQNR (dB) of the logits and top-1 agreement (%) with the original FP32 network");
        RangeSpec ranges = quant.actRange.resolve(true);
        out.println("activation ranges: " + (ranges.kind() == RangeSpec.Kind.BATCH_NORM ? "bn (mean +- " + ranges.sigmas()
                + " sigma of the BatchNorm statistics)" : ranges) + "; input range [-1, 1]");
        out.flush();
        DfqRecipe base = quant.applyTo(DfqRecipe.builder(), DfqRecipe.DEFAULT_CALIBRATION_IMAGES).build();
        Calibration calibration = Calibration.of(List.of(SyntheticImages.generate(base.calibrationImages(), 3, resolution,
                resolution, seed + 2)), "generated images");
        DfqTable table = new DfqTable(new SyntheticTask(images, run.batch), calibration, new TensorRange(-1, 1), out,
                quant.lowered(FakeQuantMode.OPS));
        List<DfqTable.Result> results = table.run(net, DfqTable.rows(base, true, DfqRecipe.Correction.NONE));
        output.report(out, table, results, "synthetic", net.name(), backend.name(), "Synthetic MobileNetV2 (width "
                + width + ", " + resolution + "x" + resolution + ", seed " + seed + "), " + count + " generated images");
        return 0;
    }
}
