using KestrelEpollTransport.Internal;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;
using Xunit;

namespace KestrelEpollTransport.Tests.Unit;

/// <summary>The connection's own feature collection behaves as <see cref="FeatureCollection"/> does.</summary>
public sealed class ConnectionFeaturesTests
{
    private static readonly Type[] Own =
    [
        typeof(IConnectionIdFeature), typeof(IConnectionTransportFeature), typeof(IConnectionItemsFeature),
        typeof(IMemoryPoolFeature), typeof(IConnectionLifetimeFeature), typeof(IConnectionEndPointFeature),
    ];

    [Fact]
    public void New_OffersTheSixOwnFeatures_AsTheConnection()
    {
        var owner = new object();
        var features = new EpollConnectionFeatures(owner);

        Assert.All(Own, type => Assert.Same(owner, features[type]));
        Assert.Equal(Own, features.Select(pair => pair.Key));
        Assert.Null(features[typeof(ITlsHandshakeFeature)]);
        Assert.Null(features.Get<ITlsHandshakeFeature>());
        Assert.False(features.IsReadOnly);
    }

    [Fact]
    public void Set_OwnAndOtherFeatures_ReplacesAddsAndRemovesLikeFeatureCollection()
    {
        var features = new EpollConnectionFeatures(new object());
        var expected = new FeatureCollection();
        var items = new ItemsFeature();
        var other = new ItemsFeature();

        foreach (var collection in new IFeatureCollection[] { features, expected })
        {
            int revision = collection.Revision;
            collection.Set<IConnectionItemsFeature>(items);
            collection[typeof(ItemsFeature)] = other;
            collection[typeof(string)] = "first";
            collection[typeof(string)] = "second";
            collection.Set<IConnectionLifetimeFeature>(null);
            collection[typeof(Version)] = new Version(1, 0);
            collection[typeof(Version)] = null;
            Assert.True(collection.Revision > revision);
        }

        Assert.Same(items, features.Get<IConnectionItemsFeature>());
        Assert.Same(other, features[typeof(ItemsFeature)]);
        Assert.Equal("second", features[typeof(string)]);
        Assert.Null(features.Get<IConnectionLifetimeFeature>());
        Assert.Null(features[typeof(Version)]);
        foreach (var pair in expected)
        {
            Assert.Same(pair.Value, features[pair.Key]);
        }
        Assert.Equal(expected.Count() + Own.Length - 2, features.Count());
    }

    [Fact]
    public void Indexer_NullKey_Throws()
    {
        var features = new EpollConnectionFeatures(new object());

        Assert.Throws<ArgumentNullException>(() => features[null!]);
        Assert.Throws<ArgumentNullException>(() => features[null!] = 1);
    }

    private sealed class ItemsFeature : IConnectionItemsFeature
    {
        public IDictionary<object, object?> Items { get; set; } = new Dictionary<object, object?>();
    }
}
