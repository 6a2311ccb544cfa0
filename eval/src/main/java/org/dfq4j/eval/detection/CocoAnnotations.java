package org.dfq4j.eval.detection;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.dfq4j.rewrite.DfqException;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Reads a COCO instances file: {@code images} (id, file_name, width, height), {@code categories}
 * (id, name) and {@code annotations} (image_id, category_id, bbox = [x, y, width, height] in
 * pixels, iscrowd). Categories are mapped to the model's class ids by name through its
 * {@link LabelMap}; crowd annotations become "difficult" objects. Images come in file order, each
 * with its annotations in file order; images without annotations are kept (their detections are
 * all false positives).
 */
public final class CocoAnnotations {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    private CocoAnnotations() {
    }

    private record ImageEntry(String fileName, int width, int height, List<GroundTruthBox> objects) {
    }

    /**
     * @param imageDir the folder holding the images' files
     * @throws DfqException naming the file when it is missing or not a COCO instances file, a
     *     category is not in the label file, an annotation refers to an unknown image or category,
     *     or an image file is missing
     */
    public static List<AnnotatedImage> read(Path json, Path imageDir, LabelMap labels) {
        if (!Files.isRegularFile(json)) {
            throw new DfqException("COCO annotation file " + json + " does not exist");
        }
        JsonNode root;
        try {
            root = MAPPER.readTree(json.toFile());
        } catch (JsonProcessingException e) {
            throw new DfqException("COCO annotation file " + json + " is not valid JSON: " + e.getOriginalMessage(),
                    e);
        } catch (IOException e) {
            throw new DfqException("COCO annotation file " + json + " cannot be read: " + e.getMessage(), e);
        }
        for (String key : List.of("images", "annotations", "categories")) {
            if (root == null || !root.path(key).isArray()) {
                throw new DfqException("COCO annotation file " + json + " has no '" + key
                        + "' array; give an instances_*.json file");
            }
        }
        Map<Long, Integer> categories = new HashMap<>();
        for (JsonNode c : root.get("categories")) {
            String name = requireText(c, "name", json, "category");
            long id = requireLong(c, "id", json, "category '" + name + "'");
            int classId = labels.idOf(name).orElseThrow(() -> new DfqException("COCO annotation file " + json
                    + " has category '" + name + "', which label file " + labels.source()
                    + " lacks; give the label file of the classes annotated"));
            categories.put(id, classId);
        }
        Map<Long, ImageEntry> images = new LinkedHashMap<>();
        for (JsonNode im : root.get("images")) {
            String file = requireText(im, "file_name", json, "image");
            long id = requireLong(im, "id", json, "image " + file);
            int w = (int) requireLong(im, "width", json, "image " + file);
            int h = (int) requireLong(im, "height", json, "image " + file);
            if (w < 1 || h < 1) {
                throw new DfqException("COCO annotation file " + json + " gives image " + file + " the size " + w
                        + "x" + h);
            }
            if (images.put(id, new ImageEntry(file, w, h, new ArrayList<>())) != null) {
                throw new DfqException("COCO annotation file " + json + " lists image id " + id + " twice");
            }
        }
        for (JsonNode a : root.get("annotations")) {
            long imageId = requireLong(a, "image_id", json, "annotation");
            long categoryId = requireLong(a, "category_id", json, "annotation");
            ImageEntry image = images.get(imageId);
            if (image == null) {
                throw new DfqException("COCO annotation file " + json + " annotates image id " + imageId
                        + ", which its images array lacks");
            }
            Integer classId = categories.get(categoryId);
            if (classId == null) {
                throw new DfqException("COCO annotation file " + json + " uses category id " + categoryId
                        + ", which its categories array lacks");
            }
            JsonNode bbox = a.get("bbox");
            if (bbox == null || !bbox.isArray() || bbox.size() != 4) {
                throw new DfqException("COCO annotation file " + json + " has an annotation of image " + image.fileName
                        + " without a bbox [x, y, width, height]");
            }
            double x = bbox.get(0).asDouble();
            double y = bbox.get(1).asDouble();
            double bw = bbox.get(2).asDouble();
            double bh = bbox.get(3).asDouble();
            image.objects.add(new GroundTruthBox(Box.ofPixels(x, y, x + bw, y + bh, image.width, image.height),
                    classId, a.path("iscrowd").asInt(0) != 0));
        }
        List<AnnotatedImage> result = new ArrayList<>(images.size());
        for (ImageEntry e : images.values()) {
            Path file = imageDir.resolve(e.fileName);
            if (!Files.isRegularFile(file)) {
                throw new DfqException("image " + file + " listed in " + json + " does not exist");
            }
            String name = e.fileName.contains("/") ? e.fileName.substring(e.fileName.lastIndexOf('/') + 1)
                    : e.fileName;
            result.add(new AnnotatedImage(name, file, e.width, e.height, e.objects));
        }
        return result;
    }

    private static String requireText(JsonNode n, String key, Path json, String what) {
        JsonNode v = n.get(key);
        if (v == null || !v.isTextual()) {
            throw new DfqException("COCO annotation file " + json + " has a " + what + " without '" + key + "'");
        }
        return v.asText();
    }

    private static long requireLong(JsonNode n, String key, Path json, String what) {
        JsonNode v = n.get(key);
        if (v == null || !v.isNumber()) {
            throw new DfqException("COCO annotation file " + json + ": " + what + " has no number '" + key + "'");
        }
        return v.asLong();
    }
}
