package org.dfq4j.distributed;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.RemoteIterator;
import org.apache.spark.SparkConf;
import org.dfq4j.cli.TableInputs;
import org.dfq4j.eval.image.Photographs;
import org.dfq4j.rewrite.DfqException;
import scala.Tuple2;

/**
 * The inputs of a {@code dfq table --spark} command line given as URIs ({@code hdfs://}, {@code s3a://},
 * {@code file:}, any scheme Hadoop has a file system for), read through Hadoop's {@link FileSystem}.
 * The driver lists the folders (names only, nothing read); every machine (the driver included) makes a
 * local mirror of them once per job: the folders' small files (class lists, annotations, splits) copied,
 * each photograph an empty file until a piece that reads it {@link #fetch fetches} it. So an executor
 * reads the photographs of its shards (and the calibration photographs), and nothing big passes through
 * the driver.
 */
final class HadoopInputs implements TableInputs {

    private static final long serialVersionUID = 1L;

    /** Options naming a folder of photographs, and options naming one file. */
    private static final Set<String> FOLDERS = Set.of("--images", "--calib-images");
    private static final Set<String> FILES = Set.of("--labels", "--ground-truth", "--annotations");

    /** A URI with a scheme of two or more letters (a Windows drive letter is one). */
    private static final Pattern URI = Pattern.compile("[A-Za-z][A-Za-z0-9+.-]+:.*");

    /**
     * One shared input.
     *
     * @param index  where its value is in the command line
     * @param prefix what precedes the value in that argument ({@code --images=}), else empty
     * @param uri    the URI as given
     * @param files  a folder's files, relative to it ('/'-separated); null for a file
     * @param eager  whether every machine copies the folder's photographs at once (their sizes are read
     *               when the folder is listed: detection without annotations)
     */
    record Shared(int index, String prefix, String uri, List<String> files, boolean eager) implements Serializable {
    }

    /** A machine's mirror of the shared inputs: its folder, command line and photographs still empty. */
    private record Mirror(Path root, List<String> args, Map<String, String> uris, Set<Path> empty,
                          Map<Path, Boolean> fetched, Configuration conf) {
    }

    private static final Map<String, Mirror> MIRRORS = new ConcurrentHashMap<>();

    private final String id = UUID.randomUUID().toString();
    private final List<String> args;
    private final List<Shared> shared;
    private final byte[] conf;

    private HadoopInputs(List<String> args, List<Shared> shared, byte[] conf) {
        this.args = List.copyOf(args);
        this.shared = List.copyOf(shared);
        this.conf = conf.clone();
    }

    /**
     * The URIs among the inputs of {@code args}, their folders listed (names only); null when there are
     * none. Hadoop's configuration is this JVM's with Spark's {@code spark.hadoop.*} properties, and
     * travels to the executors with the job.
     *
     * @throws DfqException naming an input that cannot be listed
     */
    static HadoopInputs of(List<String> args, PrintWriter progress) {
        Configuration conf = new Configuration();
        for (Tuple2<String, String> kv : new SparkConf().getAllWithPrefix("spark.hadoop.")) {
            conf.set(kv._1(), kv._2());
        }
        boolean detectionWithoutAnnotations = "detection".equals(value(args, "--task").toLowerCase(Locale.ROOT))
                && value(args, "--annotations").isEmpty();
        List<Shared> shared = new ArrayList<>();
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            int eq = a.indexOf('=');
            String option = a.startsWith("--") && eq > 0 ? a.substring(0, eq) : a;
            boolean folder = FOLDERS.contains(option);
            if (!folder && !FILES.contains(option)) {
                continue;
            }
            int at = eq > 0 && a.startsWith("--") ? i : i + 1;
            if (at >= args.size()) {
                continue;
            }
            String prefix = at == i ? option + "=" : "";
            String v = args.get(at).substring(prefix.length());
            if (!URI.matcher(v).matches()) {
                continue;
            }
            boolean eager = option.equals("--images") && detectionWithoutAnnotations;
            shared.add(new Shared(at, prefix, v, folder ? list(v, option, conf) : file(v, option, conf), eager));
        }
        if (shared.isEmpty()) {
            return null;
        }
        for (Shared s : shared) {
            progress.println(s.files() == null ? "spark: " + s.uri() + " is read through Hadoop's file system"
                    : String.format(Locale.ROOT, "spark: %s listed through Hadoop's file system: %d files, %d photographs"
                            + " %s", s.uri(), s.files().size(), s.files().stream().filter(HadoopInputs::photograph).count(),
                    s.eager() ? "(copied by every machine: detection without annotations reads every photograph's size)"
                            : "(each read only by the executors whose pieces need it)"));
        }
        progress.flush();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            conf.write(out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new HadoopInputs(args, shared, bytes.toByteArray());
    }

    /** The value of {@code option} in {@code args} (either form), or "". */
    private static String value(List<String> args, String option) {
        for (int i = 0; i < args.size(); i++) {
            if (args.get(i).equals(option) && i + 1 < args.size()) {
                return args.get(i + 1);
            }
            if (args.get(i).startsWith(option + "=")) {
                return args.get(i).substring(option.length() + 1);
            }
        }
        return "";
    }

    /** A folder's files (recursively), relative to it, sorted. */
    private static List<String> list(String uri, String option, Configuration conf) {
        org.apache.hadoop.fs.Path root = new org.apache.hadoop.fs.Path(uri);
        try {
            FileSystem fs = root.getFileSystem(conf);
            FileStatus st = fs.getFileStatus(root);
            if (!st.isDirectory()) {
                throw new DfqException(option + " " + uri + " is not a folder");
            }
            String base = fs.makeQualified(root).toUri().getPath();
            base = base.endsWith("/") ? base : base + "/";
            List<String> files = new ArrayList<>();
            RemoteIterator<LocatedFileStatus> it = fs.listFiles(root, true);
            while (it.hasNext()) {
                String p = it.next().getPath().toUri().getPath();
                if (!p.startsWith(base)) {
                    throw new DfqException("listing " + uri + " gave " + p + ", outside it");
                }
                files.add(p.substring(base.length()));
            }
            files.sort(Comparator.naturalOrder());
            return files;
        } catch (IOException e) {
            throw new DfqException("cannot list " + option + " " + uri + " through Hadoop's file system: " + e.getMessage()
                    + hint(e), e);
        }
    }

    /** Checks that a file exists; null (a file, not a folder). */
    private static List<String> file(String uri, String option, Configuration conf) {
        org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(uri);
        try {
            if (!p.getFileSystem(conf).getFileStatus(p).isFile()) {
                throw new DfqException(option + " " + uri + " is not a file");
            }
            return null;
        } catch (IOException e) {
            throw new DfqException("cannot read " + option + " " + uri + " through Hadoop's file system: " + e.getMessage()
                    + hint(e), e);
        }
    }

    private static String hint(IOException e) {
        return e instanceof org.apache.hadoop.fs.UnsupportedFileSystemException
                ? " (put the file system's Hadoop module, e.g. hadoop-aws for s3a, on the class path)" : "";
    }

    private static boolean photograph(String name) {
        String n = name.substring(name.lastIndexOf('/') + 1);
        return !n.startsWith(".") && Photographs.EXTENSIONS.contains(Photographs.extension(n));
    }

    @Override
    public List<String> localArgs() {
        return mirror().args();
    }

    @Override
    public void fetch(Collection<Path> files) {
        Mirror m = mirror();
        for (Path f : files) {
            Path p = f.toAbsolutePath().normalize();
            if (m.empty().contains(p)) {
                m.fetched().computeIfAbsent(p, x -> {
                    copy(m, remote(m, x), x);
                    return true;
                });
            }
        }
    }

    @Override
    public String display(String text) {
        String t = text;
        for (Map.Entry<String, String> e : mirror().uris().entrySet()) {
            t = t.replace(e.getKey(), e.getValue());
        }
        return t;
    }

    /** This machine's mirror, made on first use: folders, small files copied, photographs empty. */
    private Mirror mirror() {
        return MIRRORS.computeIfAbsent(id, k -> {
            Configuration c = new Configuration(false);
            try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(conf))) {
                c.readFields(in);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            try {
                Path root = Files.createTempDirectory("dfq-inputs-").toAbsolutePath();
                Runtime.getRuntime().addShutdownHook(new Thread(() -> delete(root)));
                List<String> local = new ArrayList<>(args);
                Map<String, String> uris = new LinkedHashMap<>();
                Set<Path> empty = ConcurrentHashMap.newKeySet();
                Mirror m = new Mirror(root, local, uris, empty, new ConcurrentHashMap<>(), c);
                for (int i = 0; i < shared.size(); i++) {
                    Shared s = shared.get(i);
                    Path dir = root.resolve(Integer.toString(i));
                    Files.createDirectories(dir);
                    Path at;
                    if (s.files() == null) {
                        String name = new org.apache.hadoop.fs.Path(s.uri()).getName();
                        at = dir.resolve(name.isEmpty() ? "file" : name);
                        copy(m, new org.apache.hadoop.fs.Path(s.uri()), at);
                    } else {
                        at = dir;
                        for (String f : s.files()) {
                            Path p = dir.resolve(f).normalize();
                            if (!p.startsWith(dir)) {
                                throw new DfqException("listing " + s.uri() + " gave " + f + ", outside it");
                            }
                            Files.createDirectories(p.getParent());
                            if (photograph(f) && !s.eager()) {
                                Files.createFile(p);
                                empty.add(p);
                            } else {
                                copy(m, new org.apache.hadoop.fs.Path(new org.apache.hadoop.fs.Path(s.uri()), f), p);
                            }
                        }
                    }
                    local.set(s.index(), s.prefix() + at);
                    uris.put(at.toString(), s.uri());
                }
                return new Mirror(root, List.copyOf(local), Map.copyOf(uris), empty, m.fetched(), c);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    /** The remote file of an empty mirror photograph. */
    private org.apache.hadoop.fs.Path remote(Mirror m, Path local) {
        for (Map.Entry<String, String> e : m.uris().entrySet()) {
            Path dir = Path.of(e.getKey());
            if (local.startsWith(dir)) {
                String rel = dir.relativize(local).toString().replace(java.io.File.separatorChar, '/');
                return new org.apache.hadoop.fs.Path(new org.apache.hadoop.fs.Path(e.getValue()), rel);
            }
        }
        throw new IllegalStateException(local + " is in no mirrored folder");
    }

    /** Copies {@code from} to {@code to} through a temporary file, replacing it at once. */
    private static void copy(Mirror m, org.apache.hadoop.fs.Path from, Path to) {
        try {
            Path tmp = Files.createTempFile(m.root(), ".fetch-", "");
            try (InputStream in = from.getFileSystem(m.conf()).open(from)) {
                Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
            }
            Files.move(tmp, to, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new DfqException("cannot read " + from + " through Hadoop's file system: " + e.getMessage(), e);
        }
    }

    private static void delete(Path root) {
        try (Stream<Path> s = Files.walk(root)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException | UncheckedIOException e) {
            // a temporary folder: what is left, the system cleans
        }
    }
}
