// What most of the load helper's files use, and the runner's namespaces it shares files with.
global using System.Buffers;
global using System.Diagnostics;
global using System.Globalization;
global using System.IO.Pipelines;
global using System.Net;
global using System.Net.Sockets;
global using System.Text;
global using Microsoft.AspNetCore.Builder;
global using Microsoft.AspNetCore.Connections;
global using Microsoft.Extensions.DependencyInjection;
global using TransportBench.Fairness;
global using TransportBench.Floor;
global using TransportBench.Load;
global using TransportBench.LoadHelper;
global using TransportBench.Measure;
global using TransportBench.Running;
