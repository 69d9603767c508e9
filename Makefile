# Muxgate: the two commands a fresh machine needs are `make run` and `make test`.
JAR := target/muxgate.jar
SOURCES := $(shell find src/main -type f) pom.xml
MVN := mvn -B -q

.PHONY: run test package bench bench-floor smoke clean

run: $(JAR)
	java @conf/jvm.options -jar $(JAR) --conf conf/muxgate.json

package: $(JAR)

$(JAR): $(SOURCES)
	$(MVN) -DskipTests package

# All tests, then the contract smoke test against the freshly built jar.
test:
	mvn -B package
	./scripts/smoke.sh

smoke: $(JAR)
	./scripts/smoke.sh

bench: $(JAR)
	./bench/run.sh

# Muxgate beside bare Netty frame relays and HAProxy, warm (bench/README.md, "Floor"); ~7 min.
bench-floor: $(JAR)
	./bench/floor.sh

clean:
	$(MVN) clean
