package org.dfq4j.cli;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.dfq4j.eval.image.Preprocessing;
import org.dfq4j.eval.image.RgbDecoder;
import org.dfq4j.rewrite.DfqException;
import org.dfq4j.rewrite.testing.SharedData;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.NetworkFile;
import org.dfq4j.zoo.ModelFiles;
import org.dfq4j.zoo.tfjs.KerasModelWriter;
import org.dfq4j.zoo.tflite.TinyTflite;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.tensorflow.lite.schema.ActivationFunctionType;
import org.tensorflow.lite.schema.Buffer;
import org.tensorflow.lite.schema.BuiltinOperator;
import org.tensorflow.lite.schema.BuiltinOptions;
import org.tensorflow.lite.schema.Conv2DOptions;
import org.tensorflow.lite.schema.Model;
import org.tensorflow.lite.schema.Padding;

/**
 * A seeded mutation fuzzer over every model reader. Each case mutates one seed file
 * ({@link Mutations}), reads it as {@code dfq} does ({@link ModelFiles#read}) under a time limit, and
 * classifies the end: <em>refused</em> (a {@link DfqException}) or <em>loaded</em>, in which case the
 * network is run once on a valid input; a run that computes NaN or infinity must be refused too, and
 * for the first few such mutants {@code dfq eval} itself must report it in one line. Anything else is
 * a failure: another exception, an Error (OutOfMemoryError), or a case that runs past its time limit.
 *
 * <p>Seed kinds: {@code tflite} (every shared .tflite model in turn), {@code onnx} (the PyTorch export
 * in zoo's test resources), {@code tfjs-json} and {@code tfjs-shard} (Tiny-Darknet's model.json and its
 * weight shards), {@code dfq} (a saved network). Without ../shared/data the TFLite and TF.js kinds
 * mutate small generated models instead.
 */
final class ReaderFuzzer {

    enum Kind {
        TFLITE, ONNX, TFJS_JSON, TFJS_SHARD, DFQ;

        String id() {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }
    }

    /** The counts of one kind's run; a failure is a one-line description of a case. */
    static final class Summary {
        final Kind kind;
        final long seed;
        int first;
        int cases;
        int refused;
        /** Of the refused, those only the trial run at read time caught ("the imported graph does not run"). */
        int refusedByTrialRun;
        int loaded;
        int loadedNonFinite;
        int evalChecked;
        int otherExceptions;
        int errors;
        int outOfMemory;
        int hangs;
        final List<String> failures = new ArrayList<>();
        final List<String> seeds = new ArrayList<>();
        /** The slowest cases, slowest first: "12.3 s tflite case 17 (...)". */
        final java.util.TreeMap<Long, String> slowest = new java.util.TreeMap<>(Comparator.reverseOrder());

        Summary(Kind kind, long seed) {
            this.kind = kind;
            this.seed = seed;
        }

        int failed() {
            return otherExceptions + errors + hangs;
        }

        @Override
        public String toString() {
            return String.format(Locale.ROOT, "fuzz %s (seed %d, %s): %d cases%s: %d refused with DfqException (%d of "
                    + "them by the trial run at read time), %d loaded "
                    + "(%d ran finite, %d computed NaN/Inf and were reported, %d of them through dfq eval); "
                    + "%d other exceptions, %d errors (%d OutOfMemoryError), %d hangs",
                    kind.id(), seed, String.join(" ", seeds), cases,
                    first == 0 ? "" : " (" + first + " to " + (first + cases - 1) + ")", refused, refusedByTrialRun, loaded, loaded - loadedNonFinite,
                    loadedNonFinite, evalChecked, otherExceptions, errors, outOfMemory, hangs);
        }
    }

    private static final int EVAL_CHECKS = 2;

    private final Path work;
    private final long timeoutSeconds;

    /** One seed file: where its mutants go, what ModelFiles.read is given, its data ranges. */
    private record Seed(String name, Path target, byte[] original, Path model, List<int[]> data) {
    }

    ReaderFuzzer(Path work, long timeoutSeconds) {
        this.work = work;
        this.timeoutSeconds = timeoutSeconds;
    }

    /**
     * Runs cases {@code first} to {@code first + cases - 1} of a kind; case i uses a Random seeded from
     * (seed, kind, i), so a long run may be split into ranges that together make the same cases.
     */
    Summary run(Kind kind, int first, int cases, long seed, PrintWriter progress) throws IOException {
        List<Seed> seeds = seeds(kind);
        Summary s = new Summary(kind, seed);
        s.first = first;
        if (kind == Kind.TFJS_SHARD) {
            s.seeds.add(seeds.size() + " weight shards");
        } else {
            seeds.forEach(x -> s.seeds.add(x.name()));
        }
        ExecutorService pool = newPool();
        for (int i = first; i < first + cases; i++) {
            long caseSeed = seed * 1_000_003L + kind.ordinal() * 7919L + i;
            Random r = new Random(caseSeed);
            Seed target = seeds.get(i % seeds.size());
            Seed chosen = kind == Kind.TFJS_SHARD ? seeds.get(r.nextInt(seeds.size())) : target;
            Mutations.Mutant m = kind == Kind.TFJS_JSON ? Mutations.json(chosen.original(), r)
                    : Mutations.bytes(chosen.original(), r, chosen.data());
            String where = kind.id() + " case " + i + " (seed " + caseSeed + ", " + chosen.name() + ": "
                    + m.description() + ")";
            Files.write(chosen.target(), m.bytes());
            boolean check = s.evalChecked < EVAL_CHECKS;
            Future<String> f = pool.submit(() -> runCase(chosen.model(), check));
            long t0 = System.nanoTime();
            try {
                String outcome = f.get(timeoutSeconds, TimeUnit.SECONDS);
                long nanos = System.nanoTime() - t0;
                s.slowest.put(nanos, String.format(Locale.ROOT, "%.1f s %s: %s", nanos / 1e9, where, outcome));
                if (s.slowest.size() > 5) {
                    s.slowest.pollLastEntry();
                }
                s.cases++;
                switch (outcome) {
                    case "refused" -> s.refused++;
                    case "refused by trial run" -> {
                        s.refused++;
                        s.refusedByTrialRun++;
                    }
                    case "out of memory" -> {
                        s.errors++;
                        s.outOfMemory++;
                        fail(s, where + ": OutOfMemoryError while reading (reported as a DfqException)");
                    }
                    case "loaded" -> s.loaded++;
                    case "nonfinite", "nonfinite+eval" -> {
                        s.loaded++;
                        s.loadedNonFinite++;
                        s.evalChecked += outcome.endsWith("+eval") ? 1 : 0;
                    }
                    default -> {
                        s.otherExceptions++;
                        fail(s, where + ": " + outcome);
                    }
                }
            } catch (TimeoutException e) {
                s.cases++;
                s.hangs++;
                fail(s, where + ": no end within " + timeoutSeconds + " s");
                f.cancel(true);
                pool.shutdownNow();
                pool = newPool();
            } catch (ExecutionException e) {
                s.cases++;
                Throwable t = e.getCause();
                if (t instanceof Error) {
                    s.errors++;
                    s.outOfMemory += t instanceof OutOfMemoryError ? 1 : 0;
                } else {
                    s.otherExceptions++;
                }
                fail(s, where + ": " + t);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("fuzzing interrupted", e);
            } finally {
                Files.write(chosen.target(), chosen.original());
            }
            if (progress != null && (i + 1 - first) % 500 == 0) {
                progress.println(s);
                progress.flush();
            }
        }
        pool.shutdownNow();
        return s;
    }

    private static void fail(Summary s, String what) {
        if (s.failures.size() < 50) {
            s.failures.add(what.replaceAll("\\s+", " "));
        }
    }

    private static ExecutorService newPool() {
        return Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "dfq-fuzz-case");
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * One case: "refused", "loaded", "nonfinite" (a loaded mutant whose run was refused as non-finite),
     * "nonfinite+eval" (and dfq eval said so in one line), or a description of what went wrong.
     * Exceptions other than DfqException and Errors propagate to the caller.
     */
    private String runCase(Path model, boolean evalCheck) {
        Network net;
        try {
            net = ModelFiles.read(model.toString());
        } catch (DfqException e) {
            for (Throwable c = e; c != null; c = c.getCause()) {
                if (c instanceof OutOfMemoryError) {
                    return "out of memory";
                }
            }
            if (!oneLine(e)) {
                return "DfqException message is not one line: " + e.getMessage();
            }
            return e.getMessage().contains("the imported graph does not run") ? "refused by trial run" : "refused";
        }
        long[] in = net.inputShape();
        INDArray x = validInput(in);
        try {
            net.run(x);
            return "loaded";
        } catch (DfqException e) {
            if (!e.getMessage().contains("non-finite")) {
                return "a loaded network's run was refused for another reason: " + e.getMessage();
            }
        }
        if (!evalCheck) {
            return "nonfinite";
        }
        Optional<String> classes = classifierOutputs(net);
        if (classes.isEmpty()) {
            return "nonfinite";
        }
        String eval = evalReportsNonFinite(model, classes.get());
        return eval == null ? "nonfinite+eval" : eval;
    }

    /**
     * A valid input for a network taking [C, H, W]: for an RGB network, the probe photograph as
     * {@code dfq eval --preprocess unit} feeds it (so that eval sees exactly this input); otherwise
     * seeded values in [-1, 1].
     */
    private INDArray validInput(long[] in) {
        if (in[0] != 3) {
            return Nd4j.rand(DataType.FLOAT, 1, in[0], in[1], in[2]).muli(2).subi(1);
        }
        float[] data = new float[(int) (3 * in[1] * in[2])];
        Preprocessing.parse(PREPROCESS).writeChw(RgbDecoder.read(probePhoto()), (int) in[1], (int) in[2], data, 0);
        return Nd4j.create(data, new long[] {1, 3, in[1], in[2]}, 'c');
    }

    private static final String PREPROCESS = "unit";

    /** A 64x48 photograph with gradients, named for class c0, in a folder of its own. */
    private Path probePhoto() {
        Path photo = work.resolve("probe").resolve("c0_probe.png");
        if (!Files.exists(photo)) {
            try {
                Files.createDirectories(photo.getParent());
                BufferedImage im = new BufferedImage(64, 48, BufferedImage.TYPE_INT_RGB);
                for (int y = 0; y < im.getHeight(); y++) {
                    for (int x = 0; x < im.getWidth(); x++) {
                        im.setRGB(x, y, (x * 4 & 255) << 16 | (y * 5 & 255) << 8 | ((x + y) * 2 & 255));
                    }
                }
                ImageIO.write(im, "png", photo.toFile());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return photo;
    }

    private static boolean oneLine(DfqException e) {
        return e.getMessage() != null && !e.getMessage().contains("\n") && !e.getMessage().contains("\r");
    }

    /** "c0\nc1\n..." when the first output is one row of K class scores. */
    private static Optional<String> classifierOutputs(Network net) {
        long[] in = net.inputShape();
        INDArray probe = Nd4j.zeros(DataType.FLOAT, 1, in[0], in[1], in[2]);
        long[] s = net.sameDiff().outputSingle(java.util.Map.of(net.input(), probe), net.outputs().get(0)).shape();
        long k = s.length == 2 ? s[1] : -1;
        if (k < 1 || k > 100_000) {
            return Optional.empty();
        }
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < k; i++) {
            sb.append('c').append(i).append('\n');
        }
        return Optional.of(sb.toString());
    }

    /** Null when dfq eval exits 2 with one stderr line that says the network computed non-finite values. */
    private String evalReportsNonFinite(Path model, String classes) {
        try {
            Path photos = probePhoto().getParent();
            Path labels = Files.writeString(work.resolve("labels-" + System.nanoTime() + ".txt"), classes);
            DfqRun r = DfqRun.dfq("eval", "--model", model.toString(), "--images", photos.toString(), "--labels",
                    labels.toString(), "--preprocess", PREPROCESS, "--batch", "1");
            List<String> lines = r.err().lines().toList();
            if (r.code() == 2 && lines.size() == 1 && lines.get(0).startsWith("dfq: error: ")
                    && lines.get(0).contains("non-finite")) {
                return null;
            }
            return "dfq eval on a mutant that computes NaN/Inf exited " + r.code() + " with: " + r.err();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // ---- seeds ----

    private List<Seed> seeds(Kind kind) throws IOException {
        Path dir = Files.createDirectories(work.resolve(kind.id()));
        return switch (kind) {
            case TFLITE -> tfliteSeeds(dir);
            case ONNX -> List.of(single(dir, "tiny_cnn.onnx", resource("/onnx/tiny_cnn.onnx")));
            case TFJS_JSON -> {
                Path json = tfjsFolder(dir);
                yield List.of(new Seed("model.json", json, Files.readAllBytes(json), json, List.of()));
            }
            case TFJS_SHARD -> {
                Path json = tfjsFolder(dir);
                List<Seed> shards = new ArrayList<>();
                try (Stream<Path> s = Files.list(json.getParent())) {
                    for (Path p : s.filter(p -> p.getFileName().toString().contains("shard")).sorted().toList()) {
                        shards.add(new Seed(p.getFileName().toString(), p, Files.readAllBytes(p), json, List.of()));
                    }
                }
                yield shards;
            }
            case DFQ -> {
                Path onnx = Files.write(dir.resolve("source.onnx"), resource("/onnx/tiny_cnn.onnx"));
                Path saved = dir.resolve("saved.dfq");
                NetworkFile.save(ModelFiles.read(onnx.toString()), saved);
                yield List.of(single(dir, "tiny_cnn.dfq", Files.readAllBytes(saved)));
            }
        };
    }

    private static Seed single(Path dir, String name, byte[] bytes) throws IOException {
        Path target = dir.resolve("mutant" + name.substring(name.lastIndexOf('.')));
        Files.write(target, bytes);
        return new Seed(name, target, bytes, target, List.of());
    }

    private List<Seed> tfliteSeeds(Path dir) throws IOException {
        List<Seed> seeds = new ArrayList<>();
        Optional<Path> models = SharedData.file("models");
        if (models.isPresent()) {
            try (Stream<Path> s = Files.list(models.get())) {
                for (Path p : s.filter(p -> p.toString().endsWith(".tflite")).sorted(Comparator.naturalOrder()).toList()) {
                    byte[] b = Files.readAllBytes(p);
                    Path target = dir.resolve(p.getFileName());
                    Files.write(target, b);
                    seeds.add(new Seed(p.getFileName().toString(), target, b, target, tfliteData(b)));
                }
            }
        }
        if (seeds.isEmpty()) {
            byte[] b = tinyTflite();
            Path target = Files.write(dir.resolve("tiny.tflite"), b);
            seeds.add(new Seed("tiny.tflite (generated)", target, b, target, tfliteData(b)));
        }
        return seeds;
    }

    /** The byte ranges of a TFLite file's buffers (its weights): mutations mostly avoid them. */
    private static List<int[]> tfliteData(byte[] b) {
        Model m = Model.getRootAsModel(ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN));
        List<int[]> ranges = new ArrayList<>();
        for (int i = 0; i < m.buffersLength(); i++) {
            Buffer buf = m.buffers(i);
            ByteBuffer d = buf == null ? null : buf.dataAsByteBuffer();
            if (d != null && d.remaining() > 0) {
                ranges.add(new int[] {d.position(), d.limit()});
            }
        }
        return ranges;
    }

    /** A copy of Tiny-Darknet's folder (or of a generated TF.js model) to mutate in place; its model.json. */
    private static Path tfjsFolder(Path dir) throws IOException {
        Path copy = Files.createDirectories(dir.resolve("model"));
        Optional<Path> shared = SharedData.file("models/tiny-darknet-tfjs");
        if (shared.isPresent()) {
            try (Stream<Path> s = Files.list(shared.get())) {
                for (Path p : s.filter(p -> p.getFileName().toString().equals("model.json")
                        || p.getFileName().toString().contains("shard")).toList()) {
                    Files.copy(p, copy.resolve(p.getFileName()));
                }
            }
            return copy.resolve("model.json");
        }
        return KerasModelWriter.smallConvNet(copy);
    }

    private static byte[] tinyTflite() {
        TinyTflite t = new TinyTflite();
        int x = t.activation("x", 1, 8, 8, 3);
        float[] w = new float[4 * 3 * 3 * 3];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) Math.sin(i);
        }
        int wt = t.floats("conv/weights", w, 4, 3, 3, 3);
        int y = t.activation("y", 1, 8, 8, 4);
        int o = Conv2DOptions.createConv2DOptions(t.fb(), Padding.SAME, 1, 1, ActivationFunctionType.RELU6, 1, 1);
        t.op(BuiltinOperator.CONV_2D, BuiltinOptions.Conv2DOptions, o, new int[] {x, wt, -1}, new int[] {y});
        return t.finish(new int[] {x}, new int[] {y});
    }

    private static byte[] resource(String name) throws IOException {
        try (InputStream in = ReaderFuzzer.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IOException("test resource " + name + " is missing (zoo's test jar)");
            }
            return in.readAllBytes();
        }
    }
}
