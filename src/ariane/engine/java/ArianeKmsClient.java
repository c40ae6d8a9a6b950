package org.ariane.parquet;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.apache.parquet.crypto.KeyAccessDeniedException;
import org.apache.parquet.crypto.keytools.LocalWrapKmsClient;

/**
 * Parquet modular encryption's key source for an Ariane case.
 *
 * Each master key is derived from the case's Parquet secret (HMAC-SHA256 of the key's
 * identifier), so that one secret opens a case and every column has its own master key.
 * Parquet wraps each file's random data keys with these locally (LocalWrapKmsClient): no
 * key server is involved, and nothing but wrapped keys is written to the files.
 * Compiled at run time by Janino (which Spark ships), see ariane/engine/sparksession.py.
 */
public class ArianeKmsClient extends LocalWrapKmsClient {
    public static final String SECRET_PROPERTY = "ariane.parquet.secret";
    private byte[] secret;

    protected void initializeInternal() throws KeyAccessDeniedException {
        String hex = hadoopConfiguration.getTrimmed(SECRET_PROPERTY);
        if (hex == null || hex.length() != 64) {
            throw new KeyAccessDeniedException("no case key for Parquet encryption");
        }
        secret = new byte[32];
        for (int i = 0; i < 32; i++) {
            secret[i] = (byte) Integer.parseInt(hex.substring(2 * i, 2 * i + 2), 16);
        }
    }

    protected byte[] getMasterKeyFromServer(String masterKeyIdentifier)
            throws KeyAccessDeniedException {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret, "HmacSHA256"));
            return mac.doFinal(("ariane parquet master key " + masterKeyIdentifier).getBytes("UTF-8"));
        } catch (Exception e) {
            throw new KeyAccessDeniedException("cannot derive a Parquet master key");
        }
    }
}
