package org.dfq4j.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import org.dfq4j.eval.classify.ClassificationEvaluator;
import org.dfq4j.eval.classify.ClassificationResult;
import org.dfq4j.eval.data.ClassList;
import org.dfq4j.eval.data.ImageFolderDataset;
import org.dfq4j.eval.image.Preprocessing;
import org.dfq4j.eval.report.JsonReport;
import org.dfq4j.eval.runtime.Backend;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.zoo.ModelFiles;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code dfq eval}: top-1/top-5 of a model on a folder of labelled photographs. */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = "Evaluate a classifier on labelled photographs (<synset>_<name>.JPEG).")
final class EvalCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "PATH",
            description = "model file (.tflite, .onnx, TF.js model.json) or " + ModelFiles.BUILTIN_MOBILENET)
    String model;

    @Option(names = "--images", required = true, paramLabel = "DIR", description = "folder of <synset>_<name>.JPEG photographs")
    Path images;

    @Option(names = "--labels", required = true, paramLabel = "CLASSFILE",
            description = "class file: line i is the class id (synset) of output i")
    Path labels;

    @Option(names = "--preprocess", paramLabel = "NAME|SPEC", defaultValue = "inception",
            description = "preset (inception, unit, imagenet, resize) or spec such as crop=0.875,scale=0.0078431,offset=-1 (default: ${DEFAULT-VALUE})")
    String preprocess;

    @Option(names = "--limit", paramLabel = "N", description = "evaluate only the first N photographs (sorted by name)")
    Integer limit;

    @Mixin
    RunOptions run;

    @Option(names = "--json", paramLabel = "PATH", description = "also write the result as JSON (atomically)")
    Path json;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        Backend backend = run.apply();
        out.println(backend.describe());
        Preprocessing pre = Preprocessing.parse(preprocess);
        ImageFolderDataset data = ImageFolderDataset.scan(images, ClassList.read(labels), limit == null ? Integer.MAX_VALUE : limit);
        Network net = ModelFiles.read(model);
        ClassificationResult r = ClassificationEvaluator.of(net, pre, run.batch).evaluate(data);
        Table t = new Table("", "");
        t.row("model", net.name() + " (" + net.properties().getOrDefault("format", "?") + ")");
        t.row("images", r.images() + " from " + images);
        t.row("preprocess", pre.toString());
        t.row("top-1", String.format("%.2f %%", r.top1()));
        t.row("top-5", String.format("%.2f %%", r.top5()));
        t.row("speed", String.format("%.1f images/s (batch %d, %d threads; forward only %.1f images/s)",
                r.imagesPerSecond(), run.batch, backend.threads(), r.forwardImagesPerSecond()));
        t.print(out);
        if (json != null) {
            Map<String, Object> m = new LinkedHashMap<>(r.toMap(true));
            m.put("model", model);
            m.put("network", net.name());
            m.put("backend", backend.name());
            m.put("device", backend.device());
            m.put("threads", backend.threads());
            JsonReport.write(json, m);
            out.println("wrote " + json);
        }
        return 0;
    }
}
