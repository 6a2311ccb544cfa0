package org.dfq4j.eval.image;

import org.dfq4j.rewrite.DfqException;

/**
 * A photograph that cannot be decoded (missing pixels, a truncated or damaged file, a kind no
 * ImageIO reader knows). A program that can go on without it (the CLI's --skip-bad-images) tells
 * it apart from other errors by this type.
 */
public final class DamagedImageException extends DfqException {

    public DamagedImageException(String message) {
        super(message);
    }

    public DamagedImageException(String message, Throwable cause) {
        super(message, cause);
    }
}
