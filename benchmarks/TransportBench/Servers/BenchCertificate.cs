using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace TransportBench.Servers;

/// <summary>
/// The TLS scenarios' server certificate: self-signed for 127.0.0.1, ECDSA P-256 (what a modern site serves; an RSA
/// handshake would cost several times more and bury the transport under crypto), made fresh for each run and written
/// as a PKCS#12 file SampleWeb loads through Kestrel's configuration. wrk does not verify certificates.
/// </summary>
/// <param name="Path">The .pfx file.</param>
/// <param name="Password">Its password (random per run; the key protects nothing but this benchmark).</param>
internal sealed record BenchCertificate(string Path, string Password)
{
    /// <summary>Creates the certificate in artifacts/bench/tls of the repository (git-ignored), or a temporary folder.</summary>
    public static BenchCertificate Create()
    {
        string root = DotnetHost.RepositoryRoot() is { } repository
            ? System.IO.Path.Combine(repository, "artifacts", "bench", "tls")
            : System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"transportbench-tls-{Environment.ProcessId}");
        Directory.CreateDirectory(root);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        using X509Certificate2 certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(7));
        string password = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        string path = System.IO.Path.Combine(root, "bench-127.0.0.1.pfx");
        File.WriteAllBytes(path, certificate.Export(X509ContentType.Pkcs12, password));
        return new BenchCertificate(path, password);
    }
}
