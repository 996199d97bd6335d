# Allocation-heavy Ruby workload for the aixmalloc benchmark suite.
#
# Pattern modelled: an ordinary Ruby script (a report generator, a small in-memory model, text
# munging). Ruby keeps its objects in pages of its own, but long strings, arrays of more than a
# few elements, hashes and their tables, and the pages themselves come from malloc: so string
# building, arrays and hashes that grow, JSON round trips and a tree that is built and dropped all
# reach the allocator under test, and the garbage collector frees in bursts.
#
# The output is deterministic: one line "result: ruby ..." with a CRC32 of everything computed.
#
# Usage: ruby rb_alloc.rb [SCALE]   (default 1.0; run --quick uses 0.1)
require "json"
require "zlib"

WORDS = %w[alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa].freeze

Record = Struct.new(:rid, :name, :tags, :score, :links) do
  def describe
    format("%d:%s:%s:%.3f", rid, name, tags.join(","), score)
  end
end

class Lcg
  def initialize(seed)
    @x = seed & 0xFFFFFFFF
  end

  def next
    @x = (@x * 1103515245 + 12345) & 0x7FFFFFFF
  end
end

def phase_records(n, rnd, crc)
  db = {}
  n.times do |i|
    r = rnd.next
    name = "#{WORDS[r % 16]}-#{WORDS[(r >> 4) % 16]}-#{r % 1000}"
    tags = (0...(r % 6)).map { |k| WORDS[(r >> (k * 3)) % 16] }
    db[i] = Record.new(i, name, tags, (r % 10007) / 7.0, [])
  end
  n.times do |i|
    r = rnd.next
    db[i].links = (0...(r % 5)).map { |k| db[(r + k * 7919) % n] }
  end
  groups = db.values.group_by { |rec| rec.name.split("-")[0] }
  groups.keys.sort.each do |key|
    group = groups[key].sort_by { |x| [-x.score, x.rid] }
    text = group.first(50).map(&:describe).join("|")
    crc = Zlib.crc32(text, crc)
    crc = Zlib.crc32(group.sum { |x| x.links.size }.to_s, crc)
  end
  (0...n).step(2) { |i| db.delete(i) }
  db.each_value { |rec| rec.links = rec.links.select { |x| x.rid.odd? } }
  Zlib.crc32(db.size.to_s, crc)
end

def phase_text(n, rnd, crc)
  lines = Array.new(n) do
    r = rnd.next
    Array.new(4 + r % 12) { |k| WORDS[(r >> k) % 16] * (1 + (r >> (k + 8)) % 3) }.join(" ")
  end
  counts = Hash.new(0)
  lines.each { |l| l.split.each { |w| counts[w] += 1 } }
  top = counts.sort_by { |w, c| [-c, w] }.first(20).map { |w, c| "#{w}=#{c}" }.join(",")
  crc = Zlib.crc32(top, crc)
  joined = lines.each_slice(7).map { |s| s.join("\n").upcase.reverse }
  joined.each { |s| crc = Zlib.crc32(s[0, 64], crc) }
  Zlib.crc32(joined.sum(&:size).to_s, crc)
end

def phase_json(n, rnd, crc)
  n.times do
    r = rnd.next
    doc = { "id" => r, "name" => WORDS[r % 16], "items" => (0...(r % 20)).map { |k| { "k" => k, "v" => WORDS[(r + k) % 16] * 2 } },
            "meta" => { "a" => r % 97, "b" => [r % 3, r % 5, r % 7] } }
    text = JSON.generate(doc)
    back = JSON.parse(text)
    crc = Zlib.crc32(text, crc) if back["items"].size == r % 20
  end
  crc
end

Node = Struct.new(:key, :left, :right, :payload)

def insert(root, key, payload)
  return Node.new(key, nil, nil, payload) if root.nil?
  node = root
  loop do
    if key < node.key
      return root.tap { node.left = Node.new(key, nil, nil, payload) } if node.left.nil?
      node = node.left
    else
      return root.tap { node.right = Node.new(key, nil, nil, payload) } if node.right.nil?
      node = node.right
    end
  end
end

def phase_tree(n, rnd, crc)
  root = nil
  n.times do
    r = rnd.next
    root = insert(root, r, "p#{r % 9973}" * (1 + r % 4))
  end
  stack = [root]
  total = 0
  until stack.empty?
    node = stack.pop
    next if node.nil?
    total += node.payload.size
    stack << node.left << node.right
  end
  Zlib.crc32(total.to_s, crc)
end

scale = (ARGV[0] || "1.0").to_f
rnd = Lcg.new(12345)
crc = 0
rounds = [1, (3 * scale).round].max
rounds.times do
  crc = phase_records((20000 * scale / rounds * 3).to_i, rnd, crc)
  crc = phase_text((30000 * scale / rounds * 3).to_i, rnd, crc)
  crc = phase_json((8000 * scale / rounds * 3).to_i, rnd, crc)
  crc = phase_tree((30000 * scale / rounds * 3).to_i, rnd, crc)
end
puts format("result: ruby scale=%s crc=%08x", ARGV[0] || "1.0", crc)
