package org.dfq4j.eval.detection;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalInt;
import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.parsers.ParserConfigurationException;
import org.dfq4j.eval.segmentation.ImageSize;
import org.dfq4j.rewrite.DfqException;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;
import org.xml.sax.SAXException;
import org.xml.sax.helpers.DefaultHandler;

/**
 * Reads one Pascal VOC annotation file ({@code Annotations/<id>.xml}): the photograph's file name
 * and size, and each {@code <object>} with its {@code <name>}, {@code <difficult>} flag and
 * {@code <bndbox>} in pixels. Boxes are normalized as the TF Object Detection API does when it
 * builds its VOC records: {@code xmin / width} etc., the 1-based pixel convention ignored.
 *
 * <p>Class names are looked up in the model's {@link LabelMap}; where it lacks a VOC name, the
 * COCO name of the same class is tried (aeroplane = airplane, motorbike = motorcycle, sofa =
 * couch, tvmonitor = tv, diningtable = dining table, pottedplant = potted plant), so VOC
 * annotations work with a COCO model's label file.
 */
public final class VocAnnotation {

    private static final Map<String, String> VOC_TO_COCO = Map.of("aeroplane", "airplane", "motorbike",
            "motorcycle", "sofa", "couch", "tvmonitor", "tv", "diningtable", "dining table", "pottedplant",
            "potted plant");

    private VocAnnotation() {
    }

    /**
     * @param imageDir where the photograph named in the file is ({@code JPEGImages})
     * @throws DfqException naming the file when it is missing or not VOC XML, names a class the
     *     label file lacks, has a box without coordinates, or its photograph is missing
     */
    public static AnnotatedImage read(Path xml, Path imageDir, LabelMap labels) {
        if (!Files.isRegularFile(xml)) {
            throw new DfqException("annotation " + xml + " does not exist");
        }
        Element root = parse(xml).getDocumentElement();
        if (!root.getTagName().equals("annotation")) {
            throw new DfqException("annotation " + xml + " is not Pascal VOC XML (root element <" + root.getTagName()
                    + ">, expected <annotation>)");
        }
        String id = stem(xml);
        String fileName = text(root, "filename");
        Path image = imageDir.resolve(fileName == null || fileName.isBlank() ? id + ".jpg" : fileName.strip());
        if (!Files.isRegularFile(image)) {
            throw new DfqException("photograph " + image + " of annotation " + xml + " does not exist");
        }
        int width;
        int height;
        Element size = child(root, "size");
        if (size != null && text(size, "width") != null && text(size, "height") != null) {
            width = (int) number(size, "width", xml);
            height = (int) number(size, "height", xml);
        } else {
            ImageSize s = ImageSize.read(image);
            width = s.width();
            height = s.height();
        }
        if (width < 1 || height < 1) {
            throw new DfqException("annotation " + xml + " gives image size " + width + "x" + height);
        }
        List<GroundTruthBox> objects = new ArrayList<>();
        NodeList nodes = root.getChildNodes();
        for (int i = 0; i < nodes.getLength(); i++) {
            if (nodes.item(i) instanceof Element object && object.getTagName().equals("object")) {
                objects.add(object(object, xml, labels, width, height));
            }
        }
        return new AnnotatedImage(id, image, width, height, objects);
    }

    private static GroundTruthBox object(Element object, Path xml, LabelMap labels, int width, int height) {
        String name = text(object, "name");
        if (name == null || name.isBlank()) {
            throw new DfqException("annotation " + xml + " has an <object> without a <name>");
        }
        int classId = classId(name.strip(), labels).orElseThrow(() -> new DfqException("annotation " + xml
                + " names class '" + name.strip() + "', which label file " + labels.source()
                + " lacks; give the label file of the classes annotated"));
        String difficult = text(object, "difficult");
        Element box = child(object, "bndbox");
        if (box == null) {
            throw new DfqException("annotation " + xml + " has an object '" + name.strip() + "' without <bndbox>");
        }
        return new GroundTruthBox(Box.ofPixels(number(box, "xmin", xml), number(box, "ymin", xml),
                number(box, "xmax", xml), number(box, "ymax", xml), width, height), classId,
                difficult != null && difficult.strip().equals("1"));
    }

    private static OptionalInt classId(String name, LabelMap labels) {
        OptionalInt id = labels.idOf(name);
        if (id.isEmpty() && VOC_TO_COCO.containsKey(name.toLowerCase(Locale.ROOT))) {
            id = labels.idOf(VOC_TO_COCO.get(name.toLowerCase(Locale.ROOT)));
        }
        return id;
    }

    private static Document parse(Path xml) {
        try {
            DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
            f.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
            f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
            f.setExpandEntityReferences(false);
            DocumentBuilder b = f.newDocumentBuilder();
            b.setErrorHandler(new DefaultHandler()); // throws on fatal errors, prints nothing
            return b.parse(xml.toFile());
        } catch (SAXException | IOException e) {
            throw new DfqException("annotation " + xml + " is not well-formed XML: " + e.getMessage(), e);
        } catch (ParserConfigurationException e) {
            throw new IllegalStateException("the JDK's XML parser lacks a standard feature", e);
        }
    }

    private static Element child(Element parent, String tag) {
        NodeList nodes = parent.getChildNodes();
        for (int i = 0; i < nodes.getLength(); i++) {
            Node n = nodes.item(i);
            if (n instanceof Element e && e.getTagName().equals(tag)) {
                return e;
            }
        }
        return null;
    }

    private static String text(Element parent, String tag) {
        Element e = child(parent, tag);
        return e == null ? null : e.getTextContent();
    }

    private static double number(Element parent, String tag, Path xml) {
        String t = text(parent, tag);
        try {
            if (t != null) {
                double v = Double.parseDouble(t.strip());
                if (Double.isFinite(v)) {
                    return v;
                }
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new DfqException("annotation " + xml + " has no number in <" + parent.getTagName() + "><" + tag
                + "> (found '" + t + "')");
    }

    private static String stem(Path file) {
        String n = file.getFileName().toString();
        int dot = n.lastIndexOf('.');
        return dot < 0 ? n : n.substring(0, dot);
    }
}
