package org.dfq4j.eval.data;

import static org.dfq4j.eval.TestImages.pack;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.NoSuchElementException;
import org.dfq4j.eval.TestImages;
import org.dfq4j.eval.image.Preprocessing;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

class ImageBatchesTest {

    @TempDir
    Path dir;

    @Test
    void batchesHoldEveryPhotographInOrderAsNchwFloats() {
        List<Path> files = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            int v = 30 * i;
            files.add(TestImages.write(TestImages.rgb(10 + i, 12, (x, y) -> pack(v, x * 10, 255 - v)), "png",
                    dir.resolve("p" + i + ".png")));
        }
        Preprocessing pre = Preprocessing.INCEPTION;
        long[] chw = {3, 6, 5};
        try (ImageBatches batches = new ImageBatches(files, pre, chw, 3, 2)) {
            assertEquals(3, batches.batchCount());
            int expectedStart = 0;
            while (batches.hasNext()) {
                ImageBatch b = batches.next();
                assertEquals(expectedStart, b.start());
                assertEquals(Math.min(3, 7 - expectedStart), b.size());
                INDArray images = b.images();
                assertEquals(DataType.FLOAT, images.dataType());
                assertArrayEquals(new long[] {b.size(), 3, 6, 5}, images.shape());
                for (int i = 0; i < b.size(); i++) {
                    // the same photograph decoded alone, independently of the batching
                    float[] alone = pre.load(files.get(b.start() + i), 6, 5);
                    float[] batched = images.get(NDArrayIndex.point(i))
                            .dup('c').data().asFloat();
                    assertArrayEquals(alone, batched, 0f);
                }
                expectedStart += b.size();
            }
            assertEquals(7, expectedStart);
            assertFalse(batches.hasNext());
            assertThrows(NoSuchElementException.class, batches::next);
        }
    }
}
