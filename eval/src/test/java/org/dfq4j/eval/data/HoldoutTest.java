package org.dfq4j.eval.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.IntStream;
import org.dfq4j.rewrite.DfqException;
import org.junit.jupiter.api.Test;

class HoldoutTest {

    private static List<Path> photographs(int m) {
        return IntStream.range(0, m).mapToObj(i -> Path.of(String.format("n%05d_photo.JPEG", i))).toList();
    }

    @Test
    void calibrationAndEvaluationAreDisjointCoverEverythingAndKeepTheOrder() {
        for (int m : new int[] {2, 7, 33, 200}) {
            for (int n = 1; n < m; n += Math.max(1, m / 9)) {
                List<Path> all = photographs(m);
                Holdout h = Holdout.of(all, n);
                assertEquals(n, h.calibration().size(), m + "/" + n);
                assertEquals(m - n, h.evaluation().size(), m + "/" + n);
                Set<Path> c = new HashSet<>(h.calibration());
                assertEquals(n, c.size(), "no photograph held out twice");
                assertTrue(h.evaluation().stream().noneMatch(c::contains), "disjoint");
                Set<Path> union = new HashSet<>(c);
                union.addAll(h.evaluation());
                assertEquals(new HashSet<>(all), union, "together they are every photograph");
                // each part keeps the dataset's order
                assertEquals(sortedByPosition(all, h.calibration()), h.calibration());
                assertEquals(sortedByPosition(all, h.evaluation()), h.evaluation());
            }
        }
    }

    @Test
    void heldOutPhotographsAreEvenlySpacedFromTheFirst() {
        List<Path> all = photographs(200);
        Holdout h = Holdout.of(all, 32);
        assertEquals(all.get(0), h.calibration().get(0));
        for (int j = 0; j < 32; j++) {
            int position = all.indexOf(h.calibration().get(j));
            // floor(j * 200 / 32): gaps of 6 or 7, never two neighbours
            assertEquals(j * 200 / 32, position);
        }
        // the split depends on the names only: the same list gives the same split
        assertEquals(h, Holdout.of(new ArrayList<>(all), 32));
    }

    @Test
    void nothingLeftToEvaluateOrNothingHeldOutIsAnError() {
        List<Path> all = photographs(10);
        assertTrue(assertThrows(DfqException.class, () -> Holdout.of(all, 10)).getMessage().contains("nothing to evaluate"));
        assertTrue(assertThrows(DfqException.class, () -> Holdout.of(all, 0)).getMessage().contains("at least 1"));
    }

    private static List<Path> sortedByPosition(List<Path> all, List<Path> part) {
        List<Path> s = new ArrayList<>(part);
        s.sort((a, b) -> Integer.compare(all.indexOf(a), all.indexOf(b)));
        return s;
    }
}
