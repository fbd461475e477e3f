// Java PKIX (CertPathBuilder + CertPathValidator of the JDK) as a verifier would run it with DTS
// material: anchors, intermediate (link) certificates, every CRL/ARL, and the certificate to check.
// Usage: java PkixVerify.java ANCHORS.pem CRLS.pem UNTRUSTED.pem TARGET.pem [EPOCH_MS]
// Prints "OK <path length>" (exit 0) or "FAIL <reason>" (exit 1).
import java.io.FileInputStream;
import java.security.cert.*;
import java.util.*;

public class PkixVerify {
  public static void main(String[] a) throws Exception {
    CertificateFactory cf = CertificateFactory.getInstance("X.509");
    Set<TrustAnchor> anchors = new HashSet<>();
    for (Certificate c : read(cf, a[0])) anchors.add(new TrustAnchor((X509Certificate) c, null));
    List<Object> store = new ArrayList<>();
    try (FileInputStream in = new FileInputStream(a[1])) { store.addAll(cf.generateCRLs(in)); }
    store.addAll(read(cf, a[2]));
    X509Certificate target = (X509Certificate) read(cf, a[3]).iterator().next();
    store.add(target);
    X509CertSelector sel = new X509CertSelector();
    sel.setCertificate(target);
    PKIXBuilderParameters p = new PKIXBuilderParameters(anchors, sel);
    p.addCertStore(CertStore.getInstance("Collection", new CollectionCertStoreParameters(store)));
    p.setRevocationEnabled(true);
    if (a.length > 4) p.setDate(new Date(Long.parseLong(a[4])));
    try {
      PKIXCertPathBuilderResult r = (PKIXCertPathBuilderResult) CertPathBuilder.getInstance("PKIX").build(p);
      CertPathValidator.getInstance("PKIX").validate(r.getCertPath(), p);
      System.out.println("OK " + r.getCertPath().getCertificates().size());
    } catch (CertPathBuilderException | CertPathValidatorException e) {
      Throwable t = e;
      while (t.getCause() != null) t = t.getCause();
      System.out.println("FAIL " + e.getMessage() + (t != e ? " / " + t.getMessage() : ""));
      System.exit(1);
    }
  }

  static Collection<? extends Certificate> read(CertificateFactory cf, String f) throws Exception {
    try (FileInputStream in = new FileInputStream(f)) { return cf.generateCertificates(in); }
  }
}
