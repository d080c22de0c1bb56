using System.Net;
using System.Net.Http;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace KestrelEpollTransport.Tests.Protocols;

/// <summary>
/// A self-signed server certificate made by the test run (CN=localhost, SAN localhost, 127.0.0.1, ::1), and clients
/// that trust exactly it: the validation callback compares the certificate's SHA-256 thumbprint, so no other
/// certificate (and no machine trust store) is involved.
/// </summary>
internal static class TestCertificate
{
    private static readonly Lazy<X509Certificate2> Lazy = new(Create);

    /// <summary>The certificate, with its private key.</summary>
    public static X509Certificate2 Certificate => Lazy.Value;

    /// <summary>An HttpClient that accepts the server's certificate only if it is <see cref="Certificate"/>.</summary>
    /// <param name="version">The HTTP version every request asks for, exactly (no fallback).</param>
    public static HttpClient CreateClient(Version version) => new(new SocketsHttpHandler
    {
        SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = IsTestCertificate },
    })
    {
        DefaultRequestVersion = version,
        DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        Timeout = Timeouts.Default,
    };

    /// <summary>A validation callback that accepts <see cref="Certificate"/> and nothing else.</summary>
    public static bool IsTestCertificate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors) =>
        certificate is not null &&
        certificate.GetCertHashString(HashAlgorithmName.SHA256) == Certificate.GetCertHashString(HashAlgorithmName.SHA256);

    private static X509Certificate2 Create()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        names.AddIpAddress(IPAddress.IPv6Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false)); // server auth
        var now = DateTimeOffset.UtcNow;
        using var ephemeral = request.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));
        // Through PKCS#12 and back: a certificate whose key SslStream can use on every platform.
        return X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pkcs12), password: null);
    }
}
