Console.WriteLine("Stress: under construction");
