#!/usr/bin/env bash
# Fetches Apache Kafka's broker (kafka_2.13 and kafka-tools, with their
# runtime dependencies) from Maven Central into .cache/kafka/libs, once:
# the Kafka source tests start a real broker in KRaft mode from these jars
# on Java 17. Skipped (with a line saying so) where mvn or java is missing;
# those tests then skip themselves too.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=4.3.1
DIR="$PWD/.cache/kafka"
if [ -f "$DIR/version" ] && [ "$(cat "$DIR/version")" = "$VERSION" ]; then
  exit 0
fi
if ! command -v mvn >/dev/null || ! command -v java >/dev/null; then
  echo "kafka: mvn or java is missing: the Kafka tests will be skipped"
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.qry</groupId><artifactId>kafka-broker</artifactId><version>1</version>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$VERSION</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>$VERSION</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-simple</artifactId><version>2.0.17</version></dependency>
  </dependencies>
</project>
POM
rm -rf "$DIR/libs"
mkdir -p "$DIR"
mvn -q -B -f "$work/pom.xml" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$DIR/libs"
echo "$VERSION" > "$DIR/version"
