package org.dfq4j.rewrite.quant;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.dfq4j.rewrite.graph.ChannelStats;
import org.dfq4j.rewrite.graph.Network;
import org.dfq4j.rewrite.graph.OpAttributes;
import org.dfq4j.rewrite.graph.OpKind;
import org.dfq4j.rewrite.graph.WeightLayer;
import org.dfq4j.rewrite.view.GraphView;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The data-free per-channel distribution of every activation tensor the statistics reach
 * (METHOD.md sections 5 and 7), propagated in topological order:
 *
 * <ul>
 *   <li>a weight layer's output: N(mean, std^2) from {@link Network#stats()} (the folded BatchNorm);
 *       an unfolded {@code batchnorm} op's output: N(beta, gamma^2) from its constants;
 *   <li>relu clips at 0, relu6 to [0, 6], {@code minimum}/{@code maximum} with a constant (a per-channel
 *       clip) at that constant; leakyrelu: moment-matched normal;
 *   <li>add: means add, variances add (independent branches); concat on axis 1: channels concatenate;
 *   <li>zero padding, average and max pooling, global average pooling ({@code reduce_mean} over 2,3),
 *       identity, activation fake quantization and a flatten to [N, k]: unchanged (an approximation
 *       for padding, pooling and fake quantization).
 * </ul>
 *
 * Any other op, the network input and a weight layer without statistics give an unknown
 * distribution, with the reason kept for the log.
 */
public final class ChannelDistributions {

    private final Map<String, ChannelDistribution> known = new LinkedHashMap<>();
    private final Map<String, String> unknown = new LinkedHashMap<>();

    private ChannelDistributions() {
    }

    /** Propagates the statistics of the network through its graph. */
    public static ChannelDistributions propagate(GraphView g) {
        ChannelDistributions d = new ChannelDistributions();
        for (String p : g.placeholders()) {
            d.unknown.put(p, "'" + p + "' is the network input (its distribution is not modelled)");
        }
        for (String op : g.ops()) {
            for (String out : g.outputs(op)) {
                try {
                    d.known.put(out, d.distributionOf(g, op));
                } catch (Unknown u) {
                    d.unknown.put(out, u.getMessage());
                }
            }
        }
        return d;
    }

    /** The distribution of a variable, if the statistics reach it. */
    public Optional<ChannelDistribution> of(String var) {
        return Optional.ofNullable(known.get(var));
    }

    /** Why a variable's distribution is unknown (null when it is known). */
    public String whyUnknown(String var) {
        if (known.containsKey(var)) {
            return null;
        }
        return unknown.getOrDefault(var, "'" + var + "' is not produced by a modelled op");
    }

    /**
     * The distribution of a weight layer's input as the layer sees it: its input channels, each
     * channel of a [C,H,W] tensor flattened for a dense layer repeated H*W times.
     */
    public Optional<ChannelDistribution> inputOf(WeightLayer layer, long inChannels) {
        ChannelDistribution x = known.get(layer.input());
        if (x == null) {
            return Optional.empty();
        }
        if (x.size() == inChannels) {
            return Optional.of(x);
        }
        if (layer.kind() == WeightLayer.Kind.DENSE && inChannels % x.size() == 0) {
            return Optional.of(x.repeatEach(Math.toIntExact(inChannels / x.size())));
        }
        return Optional.empty();
    }

    /** Why {@link #inputOf} is empty. */
    public String whyInputUnknown(WeightLayer layer, long inChannels) {
        ChannelDistribution x = known.get(layer.input());
        if (x == null) {
            return whyUnknown(layer.input());
        }
        return "'" + layer.input() + "' has " + x.size() + " modelled channels, layer '" + layer.output()
                + "' reads " + inChannels;
    }

    private ChannelDistribution distributionOf(GraphView g, String op) {
        List<String> in = g.inputs(op);
        WeightLayer layer = g.weightLayer(op);
        if (layer != null) {
            ChannelStats s = g.stats(layer.output());
            if (s == null) {
                throw new Unknown("layer '" + layer.output() + "' has no BatchNorm statistics");
            }
            return ChannelDistribution.of(s);
        }
        OpAttributes a = g.attributes(op);
        return switch (a.kind()) {
            case BATCH_NORM -> batchNorm(g, op, in);
            case RELU -> input(g, in.get(0)).clip(a.scalar().orElse(0), Double.POSITIVE_INFINITY);
            case RELU6 -> input(g, in.get(0)).clip(Math.max(0, a.scalar().orElse(0)), 6);
            case LEAKY_RELU -> input(g, in.get(0)).leakyRelu(a.scalar().orElse(0.01));
            case MINIMUM, MAXIMUM -> clipByConstant(g, a.kind(), in);
            case ADD -> input(g, in.get(0)).plus(input(g, in.get(1)));
            case CONCAT -> concat(g, a, in);
            case PAD, AVG_POOL, MAX_POOL, IDENTITY, FAKE_QUANT -> input(g, in.get(0));
            case MEAN -> globalMean(g, a, in);
            case RESHAPE -> flatten(g, a, in);
            default -> throw new Unknown("op '" + op + "' (" + g.opType(op) + ") is not modelled");
        };
    }

    private ChannelDistribution input(GraphView g, String var) {
        ChannelDistribution d = known.get(var);
        if (d == null) {
            throw new Unknown(whyUnknown(var));
        }
        return d;
    }

    private ChannelDistribution batchNorm(GraphView g, String op, List<String> in) {
        if (in.size() != 5 || !g.isConstant(in.get(3)) || !g.isConstant(in.get(4))) {
            throw new Unknown("batchnorm '" + op + "' has no constant gamma and beta");
        }
        double[] gamma = g.constant(in.get(3)).toDoubleVector();
        double[] beta = g.constant(in.get(4)).toDoubleVector();
        double[] std = Arrays.stream(gamma).map(Math::abs).toArray();
        return ChannelDistribution.of(new ChannelStats(beta, std));
    }

    private ChannelDistribution clipByConstant(GraphView g, OpKind type, List<String> in) {
        int ci = in.size() != 2 ? -1 : g.isConstant(in.get(1)) ? 1 : g.isConstant(in.get(0)) ? 0 : -1;
        if (ci < 0) {
            throw new Unknown(type + " of '" + in + "' is not a clip by a constant");
        }
        ChannelDistribution x = input(g, in.get(1 - ci));
        INDArray c = g.constant(in.get(ci));
        double[] bound;
        if (c.length() == 1) {
            bound = new double[x.size()];
            Arrays.fill(bound, c.getDouble(0));
        } else if (c.length() == x.size() && perChannelShape(c.shape())) {
            bound = c.reshape(c.length()).toDoubleVector();
        } else {
            throw new Unknown(type + " with constant '" + in.get(ci) + "' of shape " + Arrays.toString(c.shape())
                    + " is not a per-channel clip");
        }
        double[] inf = new double[x.size()];
        if (type == OpKind.MINIMUM) {
            Arrays.fill(inf, Double.NEGATIVE_INFINITY);
            return x.clip(inf, bound);
        }
        Arrays.fill(inf, Double.POSITIVE_INFINITY);
        return x.clip(bound, inf);
    }

    /** [C], [1,C], [1,C,1,1] or [C,1,1]: one value per channel of an NCHW or [N,C] tensor. */
    private static boolean perChannelShape(long[] s) {
        return switch (s.length) {
            case 1 -> true;
            case 2 -> s[0] == 1;
            case 3 -> s[1] == 1 && s[2] == 1;
            case 4 -> s[0] == 1 && s[2] == 1 && s[3] == 1;
            default -> false;
        };
    }

    private ChannelDistribution concat(GraphView g, OpAttributes a, List<String> in) {
        long axis = a.concatAxis();
        if (axis != 1) {
            throw new Unknown("concat along axis " + axis + " is not a channel concat");
        }
        List<ChannelDistribution> parts = new ArrayList<>();
        for (String v : in) {
            parts.add(input(g, v));
        }
        return ChannelDistribution.concat(parts);
    }

    private ChannelDistribution globalMean(GraphView g, OpAttributes a, List<String> in) {
        int[] dims = a.reductionAxes().orElse(null);
        if (dims == null || in.size() != 1 || !Arrays.equals(dims, new int[] {2, 3})) {
            throw new Unknown("reduce_mean over " + Arrays.toString(dims) + " is not a global average pool");
        }
        return input(g, in.get(0));
    }

    private ChannelDistribution flatten(GraphView g, OpAttributes a, List<String> in) {
        long[] args = a.integerArguments();
        // NetworkBuilder.flatten / reshape(-1, k): iArgs = [order, -1, k]
        if (in.size() != 1 || args.length != 3 || args[1] != -1) {
            throw new Unknown("reshape to " + Arrays.toString(args) + " is not a flatten to [N, k]");
        }
        return input(g, in.get(0));
    }

    /** A distribution that cannot be modelled, with the reason. */
    private static final class Unknown extends RuntimeException {
        Unknown(String why) {
            super(why, null, false, false);
        }
    }
}
