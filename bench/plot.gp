# gnuplot: make bench-report.  Reads $data (1 KiB ping-pong and streaming
# rows, made from the CSV by the Makefile), writes $out.
set terminal pngcairo size 1100,520 font ",10"
set output out
set datafile separator ","
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set logscale y
set grid ytics
set xtics rotate by -35
set key top right
set ylabel "per second (log scale)"
set title sprintf("shmq bench: 1 KiB messages, %s", title)
plot data using 2:xtic(1) title "ping-pong round trips", \
     '' using 3 title "streamed messages"
