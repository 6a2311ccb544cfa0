package org.dfq4j.eval.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import javax.xml.parsers.DocumentBuilderFactory;
import org.dfq4j.rewrite.QuantizationReport;
import org.dfq4j.rewrite.QuantizationReport.Activation;
import org.dfq4j.rewrite.QuantizationReport.ChannelBox;
import org.dfq4j.rewrite.QuantizationReport.Layer;
import org.dfq4j.rewrite.graph.WeightLayer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;
import org.xml.sax.InputSource;

/** The page is well-formed, escapes names, draws one chart per layer and the overview charts the data allows. */
class HtmlReportTest {

    @TempDir
    Path dir;

    private static List<ChannelBox> boxes(int n, double scale) {
        List<ChannelBox> b = new ArrayList<>();
        for (int c = 0; c < n; c++) {
            double s = scale * (c + 1);
            b.add(new ChannelBox(-s, -s / 2, 0.1 * s, s / 3, s));
        }
        return b;
    }

    /** Layers: "a<&\"b" equalized (2 panels), "dead" unchanged with a dead channel and an SQNR of +inf. */
    private static QuantizationReport report(boolean measured, boolean activations) {
        List<ChannelBox> dead = new ArrayList<>(boxes(3, 1));
        dead.add(new ChannelBox(0, 0, 0, 0, 0));
        List<Layer> layers = List.of(
                new Layer("a<&\"b", WeightLayer.Kind.CONV, boxes(5, 10), boxes(5, 1), true, 30, 40, List.of("CLE: <x> & y")),
                new Layer("dead", WeightLayer.Kind.DENSE, dead, dead, false, Double.POSITIVE_INFINITY, Double.NaN, List.of()));
        double nan = Double.NaN;
        List<Activation> acts = !activations ? List.of() : List.of(
                new Activation("input", -1, 1, 8, "calib:2", "min/max", measured ? -1 : nan, measured ? 1 : nan,
                        measured ? 0 : nan, measured ? 45 : nan, measured ? 45 : nan),
                new Activation("a<&\"b", 0, 6, 8, "calib:2", "min/max", measured ? 0 : nan, measured ? 7 : nan,
                        measured ? 0.01 : nan, measured ? 30 : nan, measured ? 25 : nan));
        return new QuantizationReport("net", "calib:2", measured ? 2 : 0, layers, acts);
    }

    private static Document parse(String html) throws Exception {
        DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
        f.setFeature("http://apache.org/xml/features/nonvalidating/load-external-dtd", false);
        return f.newDocumentBuilder().parse(new InputSource(new StringReader(html)));
    }

    private static List<Element> charts(Document d) {
        NodeList all = d.getElementsByTagName("svg");
        List<Element> out = new ArrayList<>();
        for (int i = 0; i < all.getLength(); i++) {
            out.add((Element) all.item(i));
        }
        return out;
    }

    @Test
    void aWellFormedPageWithOneChartPerLayerAndTheOverview() throws Exception {
        Map<String, String> summary = new LinkedHashMap<>();
        summary.put("model", "m<1>");
        HtmlReport.write(dir, "dfq report: m & n", summary, report(true, true));
        String html = Files.readString(dir.resolve(HtmlReport.FILE));
        Document d = parse(html);
        assertEquals("dfq report: m & n", d.getElementsByTagName("title").item(0).getTextContent());
        List<Element> svgs = charts(d);
        assertTrue(svgs.stream().allMatch(e -> e.getAttribute("class").equals("chart")));
        assertEquals(List.of("spread", "weight-sqnr", "activation-ranges", "activation-sqnr", "channels", "channels"),
                svgs.stream().map(e -> e.getAttribute("data-chart")).toList());
        assertEquals("a<&\"b", svgs.get(4).getAttribute("data-layer"), "names are escaped, not mangled");
        assertEquals("2", svgs.get(4).getAttribute("data-panels"), "an equalized layer: before and after");
        assertEquals("1", svgs.get(5).getAttribute("data-panels"), "an unchanged layer: one panel");
        assertTrue(html.contains("+inf") && !html.contains("NaN") && !html.contains("Infinity"),
                "non-finite numbers are written as +inf or -");
        Pattern.compile(" d=\"([^\"]*)\"").matcher(html).results().map(m -> m.group(1)).forEach(path ->
                assertTrue(path.matches("[MVHZ0-9. -]+"), "path data is plain numbers: " + path));
    }

    @Test
    void unmeasuredOrUnquantizedActivationsDrawWhatThereIs() throws Exception {
        List<String> unmeasured = charts(parse(HtmlReport.html("t", Map.of(), report(false, true)))).stream()
                .map(e -> e.getAttribute("data-chart")).toList();
        assertEquals(List.of("spread", "weight-sqnr", "activation-ranges", "channels", "channels"), unmeasured);
        String weightsOnly = HtmlReport.html("t", Map.of(), report(false, false));
        assertEquals(List.of("spread", "weight-sqnr", "channels", "channels"),
                charts(parse(weightsOnly)).stream().map(e -> e.getAttribute("data-chart")).toList());
        assertTrue(weightsOnly.contains("No activation is quantized"));
    }
}
