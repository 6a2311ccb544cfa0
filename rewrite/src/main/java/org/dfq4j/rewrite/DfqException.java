package org.dfq4j.rewrite;

/**
 * A user's mistake or an unsupported input (bad file, unsupported op, impossible option). The
 * message is one line that names the file, op or option and says what to do; the CLI prints it
 * as is and exits non-zero.
 */
public class DfqException extends RuntimeException {
    public DfqException(String message) {
        super(message);
    }

    public DfqException(String message, Throwable cause) {
        super(message, cause);
    }
}
